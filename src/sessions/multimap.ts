/**
 * A Map whose keys usually hold one value and occasionally several (the same short reply, "OK.", in two
 * sessions). A single value is stored bare, so the common case costs no array.
 */
export class MultiMap<V extends object> {
  private readonly map = new Map<string, V | V[]>();

  get size(): number {
    return this.map.size;
  }

  get(key: string): readonly V[] {
    const found = this.map.get(key);
    if (found === undefined) return [];
    return Array.isArray(found) ? found : [found];
  }

  add(key: string, value: V): void {
    const found = this.map.get(key);
    if (found === undefined) this.map.set(key, value);
    else if (Array.isArray(found)) {
      if (!found.includes(value)) found.push(value);
    } else if (found !== value) this.map.set(key, [found, value]);
  }

  remove(key: string, value: V): void {
    const found = this.map.get(key);
    if (found === value) this.map.delete(key);
    else if (Array.isArray(found)) {
      const rest = found.filter((item) => item !== value);
      if (rest.length === 0) this.map.delete(key);
      else this.map.set(key, rest.length === 1 ? rest[0] : rest);
    }
  }

  clear(): void {
    this.map.clear();
  }
}
