// Errors a person caused and can fix; the API answers them with `status` and the message.

/** A request about apps that cannot be done; `status` is the HTTP status the API answers with. */
export class AppError extends Error {
  override name = 'AppError'
  readonly status: 400 | 404 | 409
  constructor(message: string, status: 400 | 404 | 409 = 400) {
    super(message)
    this.status = status
  }
}
