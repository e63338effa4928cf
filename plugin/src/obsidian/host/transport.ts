// Transport over the host's WebSocket (desktop and mobile both have it).
import type { Connection, ConnectionHandlers, Transport } from '../../core/port';

export const browserSocketTransport: Transport = {
  open(url: string, handlers: ConnectionHandlers): Connection {
    const socket = new WebSocket(url);
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
