/**
 * Piscina task: one bcrypt comparison, off the primary's event loop (it
 * takes ~50–100 ms by design, and the accept loop serves every client).
 * bcryptjs compares in constant time.
 */
import bcrypt from 'bcryptjs';

export interface BcryptJob {
  password: string;
  hash: string;
}

export default function compare(job: BcryptJob): boolean {
  try {
    return bcrypt.compareSync(job.password, job.hash);
  } catch {
    return false;
  }
}
