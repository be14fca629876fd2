#include "shim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <vpx/vp8cx.h>
#include <vpx/vp8dx.h>
#include <vpx/vpx_decoder.h>
#include <vpx/vpx_encoder.h>

struct sd_enc {
	vpx_codec_ctx_t ctx;
	vpx_codec_enc_cfg_t cfg;
	int width, height;
	uint8_t *out;
	size_t cap;
};

struct sd_dec {
	vpx_codec_ctx_t ctx;
	vpx_image_t *img;
};

static void seterr(char *err, size_t errlen, const char *what, const char *msg) {
	if (err && errlen) snprintf(err, errlen, "%s: %s", what, msg ? msg : "unknown error");
}

sd_enc *sd_enc_new(const sd_enc_params *p, char *err, size_t errlen) {
	sd_enc *e = calloc(1, sizeof *e);
	if (!e) {
		seterr(err, errlen, "encoder", "out of memory");
		return NULL;
	}
	vpx_codec_err_t rc = vpx_codec_enc_config_default(vpx_codec_vp8_cx(), &e->cfg, 0);
	if (rc != VPX_CODEC_OK) {
		seterr(err, errlen, "encoder config", vpx_codec_err_to_string(rc));
		free(e);
		return NULL;
	}
	vpx_codec_enc_cfg_t *c = &e->cfg;
	c->g_w = p->width;
	c->g_h = p->height;
	c->g_timebase.num = 1;
	c->g_timebase.den = 1000; /* pts in milliseconds */
	c->g_threads = p->threads;
	c->g_pass = VPX_RC_ONE_PASS;
	c->g_lag_in_frames = 0; /* no look-ahead: one frame in, one frame out */
	c->g_error_resilient = VPX_ERROR_RESILIENT_DEFAULT;
	c->rc_end_usage = VPX_CBR;
	c->rc_target_bitrate = p->kbps;
	c->rc_min_quantizer = 2;
	c->rc_max_quantizer = 56;
	c->rc_undershoot_pct = 100;
	c->rc_overshoot_pct = 15;
	c->rc_buf_initial_sz = 500;
	c->rc_buf_optimal_sz = 600;
	c->rc_buf_sz = 1000;
	c->rc_dropframe_thresh = 0; /* every input frame comes out: clients match frames */
	c->rc_resize_allowed = 0;
	c->kf_mode = VPX_KF_AUTO;
	c->kf_min_dist = 0;
	c->kf_max_dist = p->kf_max_dist;
	e->width = p->width;
	e->height = p->height;

	rc = vpx_codec_enc_init(&e->ctx, vpx_codec_vp8_cx(), &e->cfg, 0);
	if (rc != VPX_CODEC_OK) {
		seterr(err, errlen, "encoder init", vpx_codec_err_to_string(rc));
		free(e);
		return NULL;
	}
	vpx_codec_control(&e->ctx, VP8E_SET_CPUUSED, p->cpu_used);
	vpx_codec_control(&e->ctx, VP8E_SET_NOISE_SENSITIVITY, 0);
	vpx_codec_control(&e->ctx, VP8E_SET_STATIC_THRESHOLD, 1);
	vpx_codec_control(&e->ctx, VP8E_SET_TOKEN_PARTITIONS, VP8_ONE_TOKENPARTITION);
	if (p->max_intra_pct > 0) vpx_codec_control(&e->ctx, VP8E_SET_MAX_INTRA_BITRATE_PCT, p->max_intra_pct);
	return e;
}

int sd_enc_set_bitrate(sd_enc *e, int kbps) {
	e->cfg.rc_target_bitrate = kbps;
	return vpx_codec_enc_config_set(&e->ctx, &e->cfg) == VPX_CODEC_OK ? 0 : -1;
}

static int reserve(sd_enc *e, size_t n) {
	if (n <= e->cap) return 0;
	size_t cap = e->cap ? e->cap : 64 * 1024;
	while (cap < n) cap *= 2;
	uint8_t *p = realloc(e->out, cap);
	if (!p) return -1;
	e->out = p;
	e->cap = cap;
	return 0;
}

long sd_enc_encode(sd_enc *e, const uint8_t *y, const uint8_t *u, const uint8_t *v,
                   int stride_y, int stride_uv, int64_t pts, unsigned long duration,
                   int force_kf, int *keyframe) {
	vpx_image_t img;
	memset(&img, 0, sizeof img);
	/* Wrap the caller's planes without copying; libvpx copies the source
	   into its own look-ahead buffer during vpx_codec_encode. */
	vpx_img_wrap(&img, VPX_IMG_FMT_I420, e->width, e->height, 1, (unsigned char *)y);
	img.planes[VPX_PLANE_Y] = (unsigned char *)y;
	img.planes[VPX_PLANE_U] = (unsigned char *)u;
	img.planes[VPX_PLANE_V] = (unsigned char *)v;
	img.stride[VPX_PLANE_Y] = stride_y;
	img.stride[VPX_PLANE_U] = stride_uv;
	img.stride[VPX_PLANE_V] = stride_uv;

	vpx_enc_frame_flags_t flags = force_kf ? VPX_EFLAG_FORCE_KF : 0;
	if (vpx_codec_encode(&e->ctx, &img, pts, duration, flags, VPX_DL_REALTIME) != VPX_CODEC_OK) return -1;

	size_t n = 0;
	*keyframe = 0;
	vpx_codec_iter_t iter = NULL;
	const vpx_codec_cx_pkt_t *pkt;
	while ((pkt = vpx_codec_get_cx_data(&e->ctx, &iter)) != NULL) {
		if (pkt->kind != VPX_CODEC_CX_FRAME_PKT) continue;
		if (reserve(e, n + pkt->data.frame.sz) != 0) return -1;
		memcpy(e->out + n, pkt->data.frame.buf, pkt->data.frame.sz);
		n += pkt->data.frame.sz;
		if (pkt->data.frame.flags & VPX_FRAME_IS_KEY) *keyframe = 1;
	}
	return (long)n;
}

const uint8_t *sd_enc_data(sd_enc *e) { return e->out; }

const char *sd_enc_error(sd_enc *e) {
	const char *d = vpx_codec_error_detail(&e->ctx);
	return d ? d : vpx_codec_error(&e->ctx);
}

void sd_enc_free(sd_enc *e) {
	if (!e) return;
	vpx_codec_destroy(&e->ctx);
	free(e->out);
	free(e);
}

sd_dec *sd_dec_new(int threads, char *err, size_t errlen) {
	sd_dec *d = calloc(1, sizeof *d);
	if (!d) {
		seterr(err, errlen, "decoder", "out of memory");
		return NULL;
	}
	vpx_codec_dec_cfg_t cfg = {0};
	cfg.threads = threads;
	vpx_codec_err_t rc = vpx_codec_dec_init(&d->ctx, vpx_codec_vp8_dx(), &cfg, 0);
	if (rc != VPX_CODEC_OK) {
		seterr(err, errlen, "decoder init", vpx_codec_err_to_string(rc));
		free(d);
		return NULL;
	}
	return d;
}

int sd_dec_decode(sd_dec *d, const uint8_t *data, size_t len, int *w, int *h, int *corrupt) {
	d->img = NULL;
	if (vpx_codec_decode(&d->ctx, data, (unsigned int)len, NULL, 0) != VPX_CODEC_OK) return -1;
	int c = 0;
	vpx_codec_control(&d->ctx, VP8D_GET_FRAME_CORRUPTED, &c);
	*corrupt = c;
	vpx_codec_iter_t iter = NULL;
	vpx_image_t *img, *last = NULL;
	while ((img = vpx_codec_get_frame(&d->ctx, &iter)) != NULL) last = img;
	if (!last || last->fmt != VPX_IMG_FMT_I420) return 0;
	d->img = last;
	*w = (int)last->d_w;
	*h = (int)last->d_h;
	return 1;
}

static void copy_plane(uint8_t *dst, int dw, const uint8_t *src, int stride, int w, int h) {
	for (int r = 0; r < h; r++) memcpy(dst + (size_t)r * dw, src + (size_t)r * stride, w);
}

void sd_dec_copy(sd_dec *d, uint8_t *y, uint8_t *u, uint8_t *v) {
	vpx_image_t *img = d->img;
	if (!img) return;
	int w = img->d_w, h = img->d_h, cw = (w + 1) / 2, ch = (h + 1) / 2;
	copy_plane(y, w, img->planes[VPX_PLANE_Y], img->stride[VPX_PLANE_Y], w, h);
	copy_plane(u, cw, img->planes[VPX_PLANE_U], img->stride[VPX_PLANE_U], cw, ch);
	copy_plane(v, cw, img->planes[VPX_PLANE_V], img->stride[VPX_PLANE_V], cw, ch);
}

const char *sd_dec_error(sd_dec *d) {
	const char *e = vpx_codec_error_detail(&d->ctx);
	return e ? e : vpx_codec_error(&d->ctx);
}

void sd_dec_free(sd_dec *d) {
	if (!d) return;
	vpx_codec_destroy(&d->ctx);
	free(d);
}
