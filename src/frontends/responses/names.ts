/**
 * Function names across the translation (SPEC §17.2): a `namespace` tool's functions are declared to the model
 * as plain functions, and a call the model makes is given back its namespace. A name that would clash with
 * another declared function is made unique (`namespace__name`). One instance per request.
 */

/** Where a function the model knows by its flat name came from. */
export interface FunctionOrigin {
  name: string;
  namespace?: string;
}

/** The two-way map between (namespace, name) and the flat name the model sees. */
export class FunctionNames {
  #flat = new Map<string, string>();
  #origin = new Map<string, FunctionOrigin>();

  /** The flat name of `name` in `namespace` (registered on first use). */
  flat(name: string, namespace?: string): string {
    const key = `${namespace ?? ""}\u0000${name}`;
    const known = this.#flat.get(key);
    if (known !== undefined) return known;
    let flat = name;
    if (this.#origin.has(flat) && namespace !== undefined) flat = `${namespace}__${name}`;
    while (this.#origin.has(flat)) flat += "_";
    this.#flat.set(key, flat);
    this.#origin.set(flat, namespace === undefined ? { name } : { name, namespace });
    return flat;
  }

  /** The name and namespace of a function the model called by its flat name. */
  origin(flat: string): FunctionOrigin {
    return this.#origin.get(flat) ?? { name: flat };
  }
}
