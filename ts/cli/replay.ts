import { CliError, ExitCode } from './errors.js';

export async function replayCommand(_argv: string[]): Promise<number> {
  throw new CliError(ExitCode.Failure, 'replay is not implemented yet');
}
