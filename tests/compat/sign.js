// Signs a UserSig with Tencent's own npm signer (tls-sig-api-v2), for the compatibility test.
// usage: node sign.js <sdkappid> <key> <identifier> [expire_seconds]
'use strict';
const TLSSigAPIv2 = require('tls-sig-api-v2');

const [sdkappid, key, identifier, expire] = process.argv.slice(2);
if (!sdkappid || !key || identifier === undefined) {
  process.stderr.write('usage: node sign.js <sdkappid> <key> <identifier> [expire_seconds]\n');
  process.exit(2);
}
const api = new TLSSigAPIv2.Api(Number(sdkappid), key);
process.stdout.write(api.genUserSig(identifier, Number(expire || 86400)) + '\n');
