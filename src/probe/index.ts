export * from './types.js';
export { probe as probeRtsp, probeServer, parseRtspUrl, stripCredentials, DEFAULT_RTSP_PORT } from './rtsp.js';
export { probe as probeSip, DEFAULT_SIP_PORT } from './sip.js';
export { probe as probeTcp } from './tcp.js';
export { probe as probeFile } from './file.js';
