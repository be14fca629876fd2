// C side of package vpx: thin wrappers so that Go never holds a pointer into
// libvpx's structs and every allocation has exactly one matching free.
#ifndef STICKERD_VPX_SHIM_H
#define STICKERD_VPX_SHIM_H

#include <stddef.h>
#include <stdint.h>

typedef struct sd_enc sd_enc;
typedef struct sd_dec sd_dec;

typedef struct {
	int width, height;
	int kbps;
	int threads;
	int cpu_used;
	int kf_max_dist;
	int max_intra_pct;
} sd_enc_params;

// sd_enc_new returns NULL and writes a message into err (errlen bytes) on failure.
sd_enc *sd_enc_new(const sd_enc_params *p, char *err, size_t errlen);
int sd_enc_set_bitrate(sd_enc *e, int kbps);
// sd_enc_encode encodes one I420 frame given plane pointers and strides; the
// planes are only read during the call (VP8 copies the source). On success it
// returns the size of the compressed frame, available through sd_enc_data
// until the next call, and sets *keyframe; it returns -1 on error.
long sd_enc_encode(sd_enc *e, const uint8_t *y, const uint8_t *u, const uint8_t *v,
                   int stride_y, int stride_uv, int64_t pts, unsigned long duration,
                   int force_kf, int *keyframe);
const uint8_t *sd_enc_data(sd_enc *e);
const char *sd_enc_error(sd_enc *e);
void sd_enc_free(sd_enc *e);

sd_dec *sd_dec_new(int threads, char *err, size_t errlen);
// sd_dec_decode returns 1 when a frame is ready (its size in *w, *h and
// whether the decoder saw corruption in *corrupt), 0 when the data produced
// no frame, and -1 on error.
int sd_dec_decode(sd_dec *d, const uint8_t *data, size_t len, int *w, int *h, int *corrupt);
// sd_dec_copy copies the last decoded frame into tightly packed planes.
void sd_dec_copy(sd_dec *d, uint8_t *y, uint8_t *u, uint8_t *v);
const char *sd_dec_error(sd_dec *d);
void sd_dec_free(sd_dec *d);

#endif
