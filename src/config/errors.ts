/** A bad configuration: the program prints the message as one line and exits with code 2. */
export class ConfigError extends Error {
  override name = "ConfigError";
}
