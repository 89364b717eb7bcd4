import { CliError, ExitCode } from './errors.js';

export async function statusCommand(_argv: string[]): Promise<number> {
  throw new CliError(ExitCode.Failure, 'status is not implemented yet');
}
