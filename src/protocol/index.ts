export * from './schema.js';
export { checkNestingDepth, decodeUtf8Strict, firstInvalidUtf8Offset, hasUtf8Bom } from './validate.js';
export { describeValueError, parseReport, parseReportDetailed, toWire, pointerToField, ReportValidationError, type ParsedReport } from './validate.js';
