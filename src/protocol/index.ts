export * from './schema.js';
export { parseReport, parseReportDetailed, toWire, pointerToField, ReportValidationError, type ParsedReport } from './validate.js';
