import type { LambdaClient } from '@aws-sdk/client-lambda';

/** A nudge to a function: look at this key, or at this dataset's waiting files. */
export type KickReason = 'sweep' | 'next' | 'route' | 'handover';
export type Kick =
  | { source: 'govpub.kick'; reason: KickReason; bucket: string; key: string }
  | { source: 'govpub.kick'; reason: KickReason; bucket: string; datasetId: string };

export interface Kicker {
  kick(kick: Kick): Promise<void>;
}

/**
 * Kicks a function asynchronously, so each dataset or file is handled by its own invocation. The
 * client and the SDK's command come on the first kick (lib/aws-clients/lambda.ts, createLambdaClient).
 */
export class LambdaKicker implements Kicker {
  constructor(
    private readonly client: () => Promise<LambdaClient>,
    private readonly functionName: string,
  ) {}

  async kick(kick: Kick): Promise<void> {
    const [{ InvokeCommand }, client] = await Promise.all([import('@aws-sdk/client-lambda'), this.client()]);
    await client.send(
      new InvokeCommand({
        FunctionName: this.functionName,
        InvocationType: 'Event',
        Payload: Buffer.from(JSON.stringify(kick)),
      }),
    );
  }
}
