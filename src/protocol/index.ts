export * from './schema.js';
export { describeValueError, parseReport, parseReportDetailed, toWire, pointerToField, ReportValidationError, type ParsedReport } from './validate.js';
