/** A report, login or event that breaks the protocol: names the field and the reason. */
export class ReportValidationError extends Error {
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${field}: ${reason}`);
    this.name = 'ReportValidationError';
  }
}
