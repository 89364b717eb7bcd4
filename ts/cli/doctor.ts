import { CliError, ExitCode } from './errors.js';

export async function doctorCommand(_argv: string[]): Promise<number> {
  throw new CliError(ExitCode.Failure, 'doctor is not implemented yet');
}
