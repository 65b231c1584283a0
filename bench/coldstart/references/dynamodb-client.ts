// The least a handler that talks to any AWS service loads at init: the SDK core and one small
// client (DynamoDB's), created as the handlers create theirs.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';

export const client = new DynamoDBClient({});
