import { AddressInfo, createServer } from "node:net";

/** A loopback TCP port nobody listens on right now (bound, then released). */
export async function freePort(): Promise<number> {
    const srv = createServer();
    await new Promise<void>((ok) => srv.listen(0, "127.0.0.1", () => ok()));
    const { port } = srv.address() as AddressInfo;
    await new Promise<void>((ok) => srv.close(() => ok()));
    return port;
}
