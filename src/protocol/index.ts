export * from './schema.js';
export { parseReport, toWire, pointerToField, ReportValidationError } from './validate.js';
