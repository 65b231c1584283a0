// The least a handler that talks to any AWS service loads at init: the SDK core and one small
// client (DynamoDB's), created with the SDK's defaults (the handlers add bounded retries and
// timeouts, and a proxy-aware request handler, through lib/aws-clients/).
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export const client = new DynamoDBClient({});
