import { installPromiseWithResolvers } from '../local/aws/polyfills.js';

// aws-local-stepfunctions 3 targets Node 22 and calls Promise.withResolvers, which Node 20 lacks.
installPromiseWithResolvers();

process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
process.env.AWS_REGION ??= 'ap-southeast-1';
