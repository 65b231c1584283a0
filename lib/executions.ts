import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';

export interface PublicationExecutions {
  /** Starts the status loop for an upload; a name already used means it was started already. */
  start(name: string, input: unknown): Promise<{ alreadyStarted: boolean }>;
}

/** Starts executions of the publish state machine (Step Functions Standard). */
export class StepFunctionsExecutions implements PublicationExecutions {
  constructor(
    private readonly client: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  async start(name: string, input: unknown): Promise<{ alreadyStarted: boolean }> {
    try {
      await this.client.send(
        new StartExecutionCommand({
          stateMachineArn: this.stateMachineArn,
          name,
          input: JSON.stringify(input),
        }),
      );
      return { alreadyStarted: false };
    } catch (error) {
      // Names are unique per upload, so an existing execution of this name is this upload's.
      if (error instanceof ExecutionAlreadyExists) return { alreadyStarted: true };
      throw error;
    }
  }
}
