import { CliError, ExitCode } from './errors.js';

export async function labCommand(_argv: string[]): Promise<number> {
  throw new CliError(ExitCode.Failure, 'lab is not implemented yet');
}
