// The mock backend as the browser tests see it (see src/lib/backend/mock/index.ts for its helpers).
declare global {
  interface Window {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    __ferryMock: any;
  }
}
export {};
