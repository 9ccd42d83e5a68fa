// Types for the part of k6's Redis client (`k6/x/redis`, the xk6-redis extension,
// formerly `k6/experimental/redis`) that the scripts here use; @types/k6 does not
// ship them. From the k6 docs: javascript-api/k6-x-redis (Client, Redis options).

declare module 'k6/x/redis' {
  export interface SocketOptions {
    host: string;
    port?: number;
    dialTimeout?: number;
    readTimeout?: number;
    writeTimeout?: number;
    poolSize?: number;
    minIdleConns?: number;
    tls?: { ca: string[]; cert?: string; key?: string };
  }

  export interface RedisOptions {
    socket: SocketOptions;
    username?: string;
    password?: string;
    clientName?: string;
    database?: number;
  }

  export type RedisArg = string | number | boolean;

  export class Client {
    /** `redis[s]://[[username][:password]@][host][:port][/db-number]` or an options object. */
    constructor(options: string | RedisOptions);
    /** SET key value [EX expiration]; expiration 0 = none. */
    set(key: string, value: RedisArg, expiration: number): Promise<string>;
    get(key: string): Promise<string>;
    del(...keys: string[]): Promise<number>;
    exists(...keys: string[]): Promise<number>;
    incr(key: string): Promise<number>;
    expire(key: string, seconds: number): Promise<boolean>;
    lpush(key: string, ...values: RedisArg[]): Promise<number>;
    hset(key: string, field: string, value: RedisArg): Promise<number>;
    hget(key: string, field: string): Promise<string>;
    /** Any command; resolves with the server's reply. */
    sendCommand(command: string, ...args: RedisArg[]): Promise<unknown>;
  }

  const redis: { Client: typeof Client };
  export default redis;
}
