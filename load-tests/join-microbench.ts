/**
 * Join-policy microbenchmark: CPU seconds per GB of stream data that a
 * shared stream's join policy costs (it runs once per stream, over every
 * byte), per container, against the raw policy.
 *
 *   node dist/load-tests/join-microbench.js [--seconds 10] [--size 1280x720]
 *        [--chunk 65536] [--gb 1]
 *
 * Records `seconds` of each container with ffmpeg (the same recipes as the
 * join tests), then feeds it to a fresh policy, in `chunk`-sized batches (the
 * fan-out's batch size), over and over until `gb` GB went through. Calls
 * joinPoint() once per batch as if a client joined every batch (it never
 * does that often). Single-threaded, no I/O: process.cpuUsage() is the
 * policy's cost.
 */
import { RawJoinPolicy, type JoinPolicy } from '../src/fanout/join/policy.js';
import { policyFor } from '../src/fanout/join/policy-for.js';
import { JOIN_SAMPLES, recordSample } from '../test/helpers/join-samples.js';

interface Options {
  seconds: number;
  size: string;
  chunk: number;
  gb: number;
}

function parseArgs(argv: string[]): Options {
  const opts: Options = { seconds: 10, size: '1280x720', chunk: 65536, gb: 1 };
  for (let i = 0; i < argv.length; i += 2) {
    const key = (argv[i] ?? '').replace(/^--/, '');
    const value = argv[i + 1] ?? '';
    if (key === 'size') opts.size = value;
    else if (key === 'seconds' || key === 'chunk' || key === 'gb') opts[key] = Number(value);
    else throw new Error(`unknown option --${key}`);
  }
  return opts;
}

/** CPU seconds spent feeding `gb` GB of `data` through fresh policies. */
function cpuPerGb(data: Buffer, make: () => JoinPolicy, chunk: number, gb: number): number {
  const target = gb * 1e9;
  let fed = 0;
  const before = process.cpuUsage();
  // Bounded: the target divided by the sample size, rounded up.
  const passes = Math.ceil(target / data.length);
  for (let pass = 0; pass < passes; pass++) {
    const policy = make();
    for (let p = 0; p < data.length; p += chunk) {
      const end = Math.min(p + chunk, data.length);
      // subarray, like the fan-out's batches: a view, no copy.
      policy.observe(data.subarray(p, end), p);
      policy.joinPoint(0, end);
      policy.retainFrom(end);
    }
    fed += data.length;
  }
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6 / (fed / 1e9);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  console.log(`join policy cost, ${opts.seconds} s of ${opts.size} per container, ${opts.chunk}-byte batches, ${opts.gb} GB each`);
  console.log('container  sample-MB  raw-cpu-s/GB  join-cpu-s/GB  joins/pass');
  for (const sample of JOIN_SAMPLES) {
    const data = await recordSample(sample, opts.seconds, opts.size);
    let joins = 0;
    const counting = policyFor(sample.mimetype, 'keyframe', (reason) => {
      throw new Error(`${sample.name}: parser fell back (${reason})`);
    });
    for (let p = 0; p < data.length; p += opts.chunk) counting.observe(data.subarray(p, p + opts.chunk), p);
    joins = counting.joinsSeen;
    const raw = cpuPerGb(data, () => new RawJoinPolicy(), opts.chunk, opts.gb);
    const join = cpuPerGb(data, () => policyFor(sample.mimetype, 'keyframe', () => undefined), opts.chunk, opts.gb);
    console.log(
      `${sample.name.padEnd(10)} ${(data.length / 1e6).toFixed(2).padStart(9)}  ${raw.toFixed(4).padStart(12)}  ${join.toFixed(4).padStart(13)}  ${String(joins).padStart(10)}`,
    );
  }
}

await main();
