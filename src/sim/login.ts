// The box's side of the login exchange, shared with the edge agent (src/agent/login.ts): GET the
// login URL with the box's code and MAC, then report where and as often as the answer says.
export { login, LoginError, type LoginOptions } from '../agent/login.js';
