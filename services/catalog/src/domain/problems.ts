// A domain problem names where (a path into the request), what (a stable code) and a sentence for people.
// Validators collect every problem instead of stopping at the first, so clients can fix them all at once.
export interface DomainProblem {
  path: string;
  code: string;
  message: string;
}

export class ProblemList {
  readonly items: DomainProblem[] = [];

  add(path: string, code: string, message: string): void {
    this.items.push({ path, code, message });
  }

  get empty(): boolean {
    return this.items.length === 0;
  }
}
