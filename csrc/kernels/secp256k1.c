/* secp256k1.c -- signature checks and address recovery over libsecp256k1's function pointers;
 * see secp256k1.h. */
#include "secp256k1.h"

#include <string.h>

#include "kernels.h"

/* The curve order n and n / 2, big-endian. */
static const uint8_t curve_n[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
};
static const uint8_t half_n[32] = {
    0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x5d, 0x57, 0x6e, 0x73, 0x57, 0xa4, 0x50, 0x1d, 0xdf, 0xe9, 0x2f, 0x46, 0x68, 0x1b, 0x20, 0xa0,
};
static const uint8_t zero32[32] = {0};

int aio_secp_check_rs(const uint8_t r[32], const uint8_t s[32], int low_s)
{
    if (memcmp(r, zero32, 32) == 0 || memcmp(s, zero32, 32) == 0 || memcmp(r, curve_n, 32) >= 0 ||
        memcmp(s, curve_n, 32) >= 0)
        return AIO_KERR_SIG_RANGE;
    if (low_s && memcmp(s, half_n, 32) > 0)
        return AIO_KERR_SIG_HIGH_S;
    return 0;
}

/* keccak256 of the 64 coordinate bytes of an uncompressed key (its 0x04 prefix dropped). */
static int pubkey_address(const aio_secp256k1 *p, const aio_secp_pubkey *pub, uint8_t address[20])
{
    uint8_t raw[65], digest[32];
    size_t len = sizeof raw;
    if (!p->pubkey_serialize(p->ctx, raw, &len, pub, AIO_SECP_UNCOMPRESSED) || len != 65)
        return AIO_KERR_SIG_RECOVER;
    aio_keccak256(raw + 1, 64, digest);
    memcpy(address, digest + 12, 20);
    return 0;
}

int aio_secp_recover_address(const aio_secp256k1 *p, const uint8_t msg32[32], const uint8_t r[32],
                             const uint8_t s[32], int recid, uint8_t address[20])
{
    uint8_t rs[64];
    aio_secp_recsig sig;
    aio_secp_pubkey pub;
    memcpy(rs, r, 32);
    memcpy(rs + 32, s, 32);
    if (!p->recsig_parse_compact(p->ctx, &sig, rs, recid))
        return AIO_KERR_SIG_RANGE;
    if (!p->recover(p->ctx, &pub, &sig, msg32))
        return AIO_KERR_SIG_RECOVER;
    return pubkey_address(p, &pub, address);
}

int aio_secp_key_address(const aio_secp256k1 *p, const uint8_t seckey[32], uint8_t address[20])
{
    aio_secp_pubkey pub;
    if (!p->pubkey_create(p->ctx, &pub, seckey))
        return AIO_KERR_SIG_KEY;
    return pubkey_address(p, &pub, address) == 0 ? 0 : AIO_KERR_SIG_KEY;
}
