// Transport over the host's WebSocket (desktop and mobile both have it).
import type { Connection, ConnectionHandlers, Transport } from '../../core/port';

export const browserSocketTransport: Transport = {
  open(url: string, handlers: ConnectionHandlers, protocols?: string[]): Connection {
    let socket: WebSocket;
    try {
      socket = new WebSocket(url, protocols);
    } catch (e) {
      // A malformed URL or a token with characters no token has: the
      // constructor throws instead of closing. Report it as a close, once.
      const reason = `the socket could not be opened: ${(e as Error).message}`;
      setTimeout(() => handlers.onClose(1006, reason), 0);
      return { send() {}, close() {} };
    }
    socket.binaryType = 'arraybuffer';
    let closed = false;
    socket.onopen = () => handlers.onOpen();
    socket.onmessage = (event) => {
      if (event.data instanceof ArrayBuffer) handlers.onMessage(new Uint8Array(event.data));
    };
    // `error` is always followed by `close`; reporting once is the contract.
    socket.onclose = (event) => {
      if (closed) return;
      closed = true;
      handlers.onClose(event.code, event.reason);
    };
    return {
      // The DOM typings refuse views that might sit on a SharedArrayBuffer; ours never do.
      send: (frame) => socket.send(frame as Uint8Array<ArrayBuffer>),
      close: (code, reason) => socket.close(code ?? 1000, reason),
    };
  },
};
