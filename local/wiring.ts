import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './aws/common.js';
import type { CfnTemplate } from './aws/template.js';

/**
 * The wiring of the packaged template, as the local run needs it: which function each HTTP route,
 * event rule, schedule and bucket notification reaches, with the integration's time limit, each
 * function's environment and timeout, and where rules send to topics, with their input
 * transformers. CloudFormation's intrinsic functions are evaluated for this account and region,
 * with the template's parameter defaults (or the values given).
 */

export interface FunctionWiring {
  /** The key under `functions:` in serverless.yml (the local Lambda's name for it). */
  name: string;
  logicalId: string;
  /** `functions/upload-file.handler`. */
  handler: string;
  timeoutSeconds: number;
  /** What AWS bills a second of the function by. */
  memoryMb: number;
  /** Resolved; names of functions are the local names. */
  environment: Record<string, string>;
}

export interface HttpRouteWiring {
  method: string;
  path: string;
  functionName: string;
  /** How long API Gateway waits for the integration. */
  timeoutMs: number;
}

export interface InputTransformer {
  InputPathsMap?: Record<string, string>;
  InputTemplate: string;
}

export type RuleTarget =
  | { kind: 'function'; functionName: string }
  | { kind: 'topic'; topicArn: string; inputTransformer?: InputTransformer };

export interface EventRuleWiring {
  logicalId: string;
  eventBusName: string;
  pattern: Record<string, unknown>;
  targets: RuleTarget[];
}

export interface ScheduleWiring {
  logicalId: string;
  /** From `rate(10 minutes)`. */
  everyMs: number;
  functionName: string;
}

export interface BucketTriggerWiring {
  prefix: string;
  functionName: string;
}

/** What a bus's resource policy decides by an entry's source (its Deny statements). */
export interface BusPolicyWiring {
  eventBusName: string;
  /** Only these sources may be put (a Deny on StringNotEquals events:source); undefined: any. */
  allowedSources: string[] | undefined;
  /** Sources only the stack's function roles may put (a Deny on events:source unless aws:PrincipalArn is one). */
  functionOnlySources: string[];
}

export interface Wiring {
  functions: FunctionWiring[];
  httpRoutes: HttpRouteWiring[];
  rules: EventRuleWiring[];
  schedules: ScheduleWiring[];
  /** The drop bucket's ObjectCreated notifications. */
  bucketTriggers: BucketTriggerWiring[];
  topicArns: string[];
  busPolicies: BusPolicyWiring[];
}

export class WiringError extends Error {
  override name = 'WiringError';
}

/** API Gateway HTTP APIs wait this long for an integration unless told less. */
const HTTP_API_MAX_TIMEOUT_MS = 30_000;

export function wiringOf(template: CfnTemplate, parameters: Record<string, string> = {}): Wiring {
  const localNames = localFunctionNames(template);
  const resolve = resolver(template, parameters, localNames);
  const present = Object.entries(template.Resources).filter(
    ([, r]) => r.Condition === undefined || resolve.condition(r.Condition),
  );
  const ofType = (type: string) => present.filter(([, r]) => r.Type === type);
  const functionIds = new Map(
    ofType('AWS::Lambda::Function').map(([id]) => [id, localNames.get(id) ?? id] as const),
  );
  const functionNamed = (value: unknown, where: string): string => {
    const id = targetId(value);
    const name = id ? functionIds.get(id) : undefined;
    if (!name) throw new WiringError(`${where} names no function of the template: ${JSON.stringify(value)}`);
    return name;
  };

  const functions = ofType('AWS::Lambda::Function').map(([id, r]): FunctionWiring => {
    const properties = r.Properties ?? {};
    const variables = (asRecord(properties.Environment).Variables ?? {}) as Record<string, unknown>;
    return {
      name: functionIds.get(id) ?? id,
      logicalId: id,
      handler: String(properties.Handler),
      timeoutSeconds: Number(properties.Timeout ?? 3),
      memoryMb: Number(properties.MemorySize ?? 128),
      environment: Object.fromEntries(
        Object.entries(variables).map(([key, value]) => [key, String(resolve.value(value))]),
      ),
    };
  });

  const integrations = new Map(ofType('AWS::ApiGatewayV2::Integration'));
  const httpRoutes = ofType('AWS::ApiGatewayV2::Route').map(([id, r]): HttpRouteWiring => {
    const [method = '', path = ''] = String(r.Properties?.RouteKey).split(' ');
    const integrationId = /"Ref":"(\w+)"/.exec(JSON.stringify(r.Properties?.Target))?.[1] ?? '';
    const integration = integrations.get(integrationId);
    if (!integration) throw new WiringError(`route ${id} has no integration in the template`);
    return {
      method,
      path,
      functionName: functionNamed(integration.Properties?.IntegrationUri, `route ${id}`),
      timeoutMs: Number(integration.Properties?.TimeoutInMillis ?? HTTP_API_MAX_TIMEOUT_MS),
    };
  });

  const rules: EventRuleWiring[] = [];
  const schedules: ScheduleWiring[] = [];
  for (const [id, r] of ofType('AWS::Events::Rule')) {
    const properties = r.Properties ?? {};
    if (properties.State === 'DISABLED') continue;
    const targets = asArray(properties.Targets).map((target): RuleTarget => {
      const { Arn, InputTransformer: transformer, Input, InputPath } = asRecord(target);
      const targetResource = template.Resources[targetId(Arn) ?? ''];
      if (Input !== undefined || InputPath !== undefined) {
        throw new WiringError(`rule ${id}: a target's Input or InputPath is not honoured locally`);
      }
      if (targetResource?.Type === 'AWS::SNS::Topic') {
        return {
          kind: 'topic',
          topicArn: String(resolve.value(Arn)),
          ...(transformer ? { inputTransformer: resolve.value(transformer) as InputTransformer } : {}),
        };
      }
      if (transformer)
        throw new WiringError(`rule ${id}: a function target's InputTransformer is not honoured locally`);
      return { kind: 'function', functionName: functionNamed(Arn, `rule ${id}`) };
    });
    if (properties.ScheduleExpression) {
      for (const target of targets) {
        if (target.kind !== 'function') continue;
        schedules.push({
          logicalId: id,
          everyMs: rateMs(String(properties.ScheduleExpression)),
          functionName: target.functionName,
        });
      }
      continue;
    }
    const pattern = resolve.value(properties.EventPattern);
    rules.push({
      logicalId: id,
      eventBusName: String(resolve.value(properties.EventBusName ?? 'default')),
      pattern: (typeof pattern === 'string' ? JSON.parse(pattern) : pattern) as Record<string, unknown>,
      targets,
    });
  }

  const bucketTriggers = ofType('AWS::S3::Bucket').flatMap(([, r]) =>
    asArray(asRecord(r.Properties?.NotificationConfiguration).LambdaConfigurations).flatMap((raw) => {
      const configuration = asRecord(raw);
      if (!String(configuration.Event).startsWith('s3:ObjectCreated:')) return [];
      const filter = asArray(asRecord(asRecord(configuration.Filter).S3Key).Rules).map(asRecord);
      if (filter.some((rule) => String(rule.Name).toLowerCase() !== 'prefix')) {
        throw new WiringError(
          'a bucket notification filters on more than a key prefix, which the local run does not',
        );
      }
      return [
        {
          prefix: String(filter.find((rule) => String(rule.Name).toLowerCase() === 'prefix')?.Value ?? ''),
          functionName: functionNamed(configuration.Function, 'a bucket notification'),
        },
      ];
    }),
  );

  const topicArns = ofType('AWS::SNS::Topic').map(([id]) => String(resolve.value({ Ref: id })));
  const busPolicies = ofType('AWS::Events::EventBus').flatMap(([id, r]) => {
    const policy = resolve.value(r.Properties?.Policy);
    return policy === undefined ? [] : [busPolicyOf(String(resolve.value({ Ref: id })), policy, template)];
  });
  return { functions, httpRoutes, rules, schedules, bucketTriggers, topicArns, busPolicies };
}

/**
 * The statements of a bus policy the local bus can honour: Denies of PutEvents by source, some
 * unless the caller is one of the stack's function roles. Any other statement is refused, so that
 * the local bus never accepts what the deployed one would not.
 */
function busPolicyOf(eventBusName: string, policy: unknown, template: CfnTemplate): BusPolicyWiring {
  const result: BusPolicyWiring = { eventBusName, allowedSources: undefined, functionOnlySources: [] };
  const roleArns = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::IAM::Role')
    .map(([id]) => `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${id}`);
  for (const raw of asArray(asRecord(policy).Statement)) {
    const statement = asRecord(raw);
    const condition = asRecord(statement.Condition);
    const notEquals = asRecord(condition.StringNotEquals)['events:source'];
    const equals = asRecord(condition.StringEquals)['events:source'];
    const principals = asArray(asRecord(condition.ArnNotEquals)['aws:PrincipalArn']).map(String);
    const keys = Object.keys(condition).sort().join(',');
    if (statement.Effect !== 'Deny' || statement.Action !== 'events:PutEvents') {
      throw new WiringError(`the policy of bus ${eventBusName} has a statement the local bus cannot honour`);
    }
    if (keys === 'StringNotEquals' && notEquals !== undefined) {
      result.allowedSources = asArray(notEquals).map(String);
    } else if (
      keys === 'ArnNotEquals,StringEquals' &&
      equals !== undefined &&
      principals.every((arn) => roleArns.includes(arn))
    ) {
      result.functionOnlySources.push(...asArray(equals).map(String));
    } else {
      throw new WiringError(
        `the policy of bus ${eventBusName} denies on ${keys || 'no condition'}, which the local bus cannot honour`,
      );
    }
  }
  return result;
}

/** Logical id -> the key serverless.yml gives the function (`govpub-local-upload` -> `upload`). */
function localFunctionNames(template: CfnTemplate): Map<string, string> {
  const functions = Object.entries(template.Resources)
    .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
    .map(([id, r]) => [id, String(r.Properties?.FunctionName ?? id)] as const);
  // The service-stage prefix all function names share.
  let common = functions[0]?.[1] ?? '';
  for (const [, name] of functions) {
    while (!name.startsWith(common)) common = common.slice(0, -1);
  }
  const cut = functions.length > 1 ? common.lastIndexOf('-') + 1 : 0;
  return new Map(functions.map(([id, full]) => [id, full.slice(cut)]));
}

function rateMs(expression: string): number {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!match) throw new WiringError(`schedule ${expression}: only rate(...) expressions run locally`);
  const unit = { minute: 60_000, hour: 3_600_000, day: 86_400_000 }[
    (match[2] ?? '').replace(/s$/, '') as 'minute' | 'hour' | 'day'
  ];
  return Number(match[1]) * unit;
}

function targetId(value: unknown): string | undefined {
  const record = asRecord(value);
  const getAtt = record['Fn::GetAtt'];
  if (Array.isArray(getAtt)) return String(getAtt[0]);
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  if (typeof record.Ref === 'string') return record.Ref;
  return undefined;
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : value === undefined ? [] : [value];
}

interface Resolver {
  value(value: unknown): unknown;
  condition(name: string): boolean;
}

const NO_VALUE = Symbol('AWS::NoValue');

/**
 * CloudFormation's intrinsic functions, as far as govpub's template uses them. Refs and ARNs of
 * resources are the names CloudFormation would give them in this account and region.
 */
function resolver(
  template: CfnTemplate,
  given: Record<string, string>,
  functionNames: ReadonlyMap<string, string>,
): Resolver {
  const pseudo: Record<string, unknown> = {
    'AWS::AccountId': LOCAL_ACCOUNT_ID,
    'AWS::Region': LOCAL_REGION,
    'AWS::Partition': 'aws',
    'AWS::URLSuffix': 'amazonaws.com',
    'AWS::StackName': 'govpub-local',
    'AWS::NoValue': NO_VALUE,
  };
  const fullFunctionNames = new Map(
    Object.entries(template.Resources)
      .filter(([, r]) => r.Type === 'AWS::Lambda::Function')
      .map(([id, r]) => [String(r.Properties?.FunctionName), functionNames.get(id) ?? id]),
  );

  const parameter = (name: string): unknown => {
    const declared = template.Parameters?.[name];
    if (!declared) return undefined;
    const raw = given[name] ?? declared.Default ?? '';
    return declared.Type === 'CommaDelimitedList' ? String(raw).split(',') : String(raw);
  };

  const ref = (name: string): unknown => {
    if (name in pseudo) return pseudo[name];
    const fromParameter = parameter(name);
    if (fromParameter !== undefined) return fromParameter;
    const r = template.Resources[name];
    if (!r) throw new WiringError(`Ref to ${name}, which the template does not have`);
    const properties = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::Lambda::Function':
        return functionNames.get(name);
      case 'AWS::SNS::Topic':
        return arn('sns', String(value(properties.TopicName ?? name)));
      case 'AWS::SQS::Queue':
        return `https://sqs.${LOCAL_REGION}.amazonaws.com/${LOCAL_ACCOUNT_ID}/${String(value(properties.QueueName ?? name))}`;
      default: {
        const named = ['Name', 'TableName', 'BucketName', 'LogGroupName', 'StateMachineName'].find(
          (key) => properties[key] !== undefined,
        );
        return named ? value(properties[named]) : name;
      }
    }
  };

  const arn = (service: string, resource: string): string =>
    `arn:aws:${service}:${LOCAL_REGION}:${LOCAL_ACCOUNT_ID}:${resource}`;

  const getAtt = (id: string, attribute: string): unknown => {
    const r = template.Resources[id];
    if (!r) throw new WiringError(`Fn::GetAtt of ${id}, which the template does not have`);
    const name = String(ref(id));
    if (attribute !== 'Arn') return name;
    switch (r.Type) {
      case 'AWS::Lambda::Function':
        return arn('lambda', `function:${name}`);
      case 'AWS::SNS::Topic':
        return name;
      case 'AWS::Events::EventBus':
        return arn('events', `event-bus/${name}`);
      case 'AWS::Events::Rule':
        return arn('events', `rule/${name}`);
      case 'AWS::DynamoDB::Table':
        return arn('dynamodb', `table/${name}`);
      case 'AWS::S3::Bucket':
        return `arn:aws:s3:::${name}`;
      case 'AWS::SQS::Queue':
        return arn('sqs', name.split('/').pop() ?? name);
      case 'AWS::IAM::Role':
        return `arn:aws:iam::${LOCAL_ACCOUNT_ID}:role/${id}`;
      default:
        return arn(r.Type.split('::')[1]?.toLowerCase() ?? 'unknown', name);
    }
  };

  const sub = (text: string, variables: Record<string, unknown>): string =>
    text.replace(/\$\{(!?)([^}]+)\}/g, (_, literal: string, name: string) => {
      // `${!Literal}` is CloudFormation's escape for a literal `${Literal}`.
      if (literal) return `\${${name}}`;
      if (name in variables) return String(value(variables[name]));
      const [id = '', attribute] = name.split('.');
      return String(attribute ? getAtt(id, attribute) : ref(id));
    });

  const condition = (name: string): boolean => {
    const definition = template.Conditions?.[name];
    if (definition === undefined) throw new WiringError(`condition ${name} is not in the template`);
    return Boolean(value(definition));
  };

  function value(input: unknown): unknown {
    if (Array.isArray(input)) return input.map(value).filter((item) => item !== NO_VALUE);
    if (typeof input !== 'object' || input === null) {
      // A literal naming a deployed function (FORWARDER_FUNCTION_NAME) names the local one.
      return typeof input === 'string' ? (fullFunctionNames.get(input) ?? input) : input;
    }
    const entries = Object.entries(input);
    const [key, argument] = entries[0] ?? [];
    if (
      entries.length === 1 &&
      key !== undefined &&
      (key === 'Ref' || key.startsWith('Fn::') || key === 'Condition')
    ) {
      const args = argument as unknown[];
      switch (key) {
        case 'Ref':
          return ref(String(argument));
        case 'Condition':
          return condition(String(argument));
        case 'Fn::GetAtt': {
          const [id = '', attribute = ''] = Array.isArray(argument)
            ? argument.map(String)
            : String(argument).split('.');
          return getAtt(id, attribute);
        }
        case 'Fn::Sub':
          return Array.isArray(argument)
            ? sub(String(args[0]), (args[1] ?? {}) as Record<string, unknown>)
            : sub(String(argument), {});
        case 'Fn::Join':
          return (value(args[1]) as unknown[]).map(String).join(String(args[0]));
        case 'Fn::Split':
          return String(value(args[1])).split(String(args[0]));
        case 'Fn::Select':
          return (value(args[1]) as unknown[])[Number(value(args[0]))];
        case 'Fn::If':
          return condition(String(args[0])) ? value(args[1]) : value(args[2]);
        case 'Fn::Equals':
          return JSON.stringify(value(args[0])) === JSON.stringify(value(args[1]));
        case 'Fn::Not':
          return !value(args[0]);
        case 'Fn::And':
          return args.every((item) => Boolean(value(item)));
        case 'Fn::Or':
          return args.some((item) => Boolean(value(item)));
        default:
          throw new WiringError(`${key} is not evaluated locally`);
      }
    }
    return Object.fromEntries(
      entries.map(([name, item]) => [name, value(item)]).filter(([, item]) => item !== NO_VALUE),
    );
  }

  return { value, condition };
}

export interface AslDefinition {
  States: Record<
    string,
    { Type: string; Resource?: unknown; Branches?: AslDefinition[]; Iterator?: AslDefinition }
  >;
}

/** Task state -> the function it runs, for Task states whose Resource is a function's ARN. */
export function taskFunctions(definition: AslDefinition): Record<string, string> {
  const found: Record<string, string> = {};
  for (const [state, body] of Object.entries(definition.States)) {
    const getAtt = (body.Resource as { 'Fn::GetAtt'?: [string, string] } | undefined)?.['Fn::GetAtt'];
    if (body.Type === 'Task' && getAtt) found[state] = getAtt[0];
    for (const nested of [...(body.Branches ?? []), ...(body.Iterator ? [body.Iterator] : [])]) {
      Object.assign(found, taskFunctions(nested));
    }
  }
  return found;
}
