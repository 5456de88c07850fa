// Short messages in the corner: what just happened, or what went wrong, in words.
export interface Notice {
  id: number;
  tone: 'info' | 'success' | 'error';
  text: string;
}

export class NoticesState {
  list = $state<Notice[]>([]);
  #next = 1;

  push(tone: Notice['tone'], text: string, ms = tone === 'error' ? 9000 : 5000): number {
    const id = this.#next++;
    this.list = [...this.list.slice(-3), { id, tone, text }];
    if (ms > 0) setTimeout(() => this.dismiss(id), ms);
    return id;
  }

  dismiss(id: number): void {
    this.list = this.list.filter((n) => n.id !== id);
  }
}
