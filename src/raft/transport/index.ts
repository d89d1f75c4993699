export { type Transport, type PeerAddress, formatAddress, parseAddress } from './transport.js';
export { TcpTransport, type TcpTransportOptions, type TcpTransportStats, type PeerLinkStats } from './tcp.js';
export { MemoryNetwork, MemoryTransport } from './memory.js';
export {
  encodeFrame,
  FrameDecoder,
  FrameTooLargeError,
  encodeHello,
  decodeHello,
  encodeWelcome,
  decodeWelcome,
  judgeHello,
  WelcomeStatus,
  DEFAULT_MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
  type Hello,
  type Welcome,
} from './frame.js';
