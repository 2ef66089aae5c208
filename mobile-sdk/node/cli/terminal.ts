// Questions to the person at the terminal: readline on stdin, prompts on stderr (stdout stays for results), PINs unechoed.
import { createInterface } from 'node:readline';
import { Writable } from 'node:stream';

/** True when a person can answer: prompts are only shown then, scripts get a clear error instead. */
export function interactive(): boolean {
  return process.stdin.isTTY === true;
}

function question(text: string, hidden: boolean): Promise<string> {
  let muted = false;
  // Echo goes through this stream: while muted, typed characters are swallowed (the PIN never shows).
  const output = new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (!muted) process.stderr.write(chunk);
      done();
    },
  });
  const rl = createInterface({ input: process.stdin, output, terminal: true });
  return new Promise((resolve, reject) => {
    rl.once('SIGINT', () => {
      rl.close();
      process.stderr.write('\n');
      reject(new Error('interrupted'));
    });
    rl.question(text, (answer) => {
      rl.close();
      if (hidden) process.stderr.write('\n');
      resolve(answer.trim());
    });
    muted = hidden;
  });
}

export const ask = (text: string): Promise<string> => question(text, false);
export const askHidden = (text: string): Promise<string> => question(text, true);

/** y/n question; anything but yes is no. */
export async function askYesNo(text: string): Promise<boolean> {
  return /^y(es)?$/i.test(await ask(`${text} [y/N] `));
}
