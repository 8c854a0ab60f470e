import { oneLine } from "../log/log.ts";

/**
 * A bad configuration: the program prints the message as one line and exits with code 2. Control characters
 * in it (from a hand-edited file or an argument) are escaped, so the line cannot drive the terminal.
 */
export class ConfigError extends Error {
  override name = "ConfigError";

  constructor(message: string) {
    super(oneLine(message));
  }
}
