/** How a client's session ended, for the access log and the request counter. */
export interface SessionResult {
  status: number;
  bytes: number;
}
