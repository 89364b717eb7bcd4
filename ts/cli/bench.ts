import { CliError, ExitCode } from './errors.js';

export async function benchCommand(_argv: string[]): Promise<number> {
  throw new CliError(ExitCode.Failure, 'bench is not implemented yet');
}
