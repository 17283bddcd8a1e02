/**
 * Binance spot error replies: `{ code, msg }` with Binance's numeric codes and messages, and the
 * HTTP status Binance sends them with. ccxt maps most of them by code (`exceptions.exact`), a few
 * by message (insufficient balance, post-only), so the messages are Binance's own words.
 */
export class BinanceError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: number,
    msg: string,
  ) {
    super(msg);
    this.name = 'BinanceError';
  }

  body(): { code: number; msg: string } {
    return { code: this.code, msg: this.message };
  }
}

export const Errors = {
  unknown: (msg = 'An unknown error occurred while processing the request.') =>
    new BinanceError(500, -1000, msg),
  tooManyRequests: () =>
    new BinanceError(
      429,
      -1003,
      'Too many requests; current limit of IP(127.0.0.1) request weight is exceeded.',
    ),
  unknownRoute: (method: string, path: string) =>
    new BinanceError(404, -1000, `The local exchange does not implement ${method} ${path}.`),
  timestampAhead: () =>
    new BinanceError(400, -1021, "Timestamp for this request was 1000ms ahead of the server's time."),
  timestampOutside: () =>
    new BinanceError(400, -1021, 'Timestamp for this request is outside of the recvWindow.'),
  badSignature: () => new BinanceError(400, -1022, 'Signature for this request is not valid.'),
  illegalChars: (param: string, legal: string) =>
    new BinanceError(
      400,
      -1100,
      `Illegal characters found in parameter '${param}'; legal range is '${legal}'.`,
    ),
  illegalValue: (param: string) =>
    new BinanceError(400, -1100, `Illegal characters found in parameter '${param}'.`),
  mandatory: (param: string) =>
    new BinanceError(
      400,
      -1102,
      `Mandatory parameter '${param}' was not sent, was empty/null, or malformed.`,
    ),
  mandatoryOneOf: (a: string, b: string) =>
    new BinanceError(400, -1102, `Param '${a}' or '${b}' must be sent, but both were empty/null!`),
  notRequired: (param: string) =>
    new BinanceError(400, -1106, `Parameter '${param}' sent when not required.`),
  invalidTimeInForce: () => new BinanceError(400, -1115, 'Invalid timeInForce.'),
  invalidOrderType: () => new BinanceError(400, -1116, 'Invalid orderType.'),
  invalidSide: () => new BinanceError(400, -1117, 'Invalid side.'),
  invalidSymbol: () => new BinanceError(400, -1121, 'Invalid symbol.'),
  invalidListenKey: () => new BinanceError(400, -1125, 'This listenKey does not exist.'),
  recvWindowTooLarge: () => new BinanceError(400, -1131, 'recvWindow must be less than 60000'),
  invalidRespType: () =>
    new BinanceError(400, -1100, "Illegal characters found in parameter 'newOrderRespType'."),
  filterFailure: (filter: string) => new BinanceError(400, -1013, `Filter failure: ${filter}`),
  insufficientBalance: () =>
    new BinanceError(400, -2010, 'Account has insufficient balance for requested action.'),
  duplicateOrder: () => new BinanceError(400, -2010, 'Duplicate order sent.'),
  wouldMatch: () => new BinanceError(400, -2010, 'Order would immediately match and take.'),
  unknownOrder: () => new BinanceError(400, -2011, 'Unknown order sent.'),
  noSuchOrder: () => new BinanceError(400, -2013, 'Order does not exist.'),
  apiKeyFormat: () => new BinanceError(401, -2014, 'API-key format invalid.'),
  invalidApiKey: () => new BinanceError(401, -2015, 'Invalid API-key, IP, or permissions for action.'),
} as const;
