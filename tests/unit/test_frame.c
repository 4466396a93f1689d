/* Frame codec: wrapped, raw and auto framing fed whole, split and
 * byte by byte, as a connection's read loop would feed it. */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "openhets/openhets.h"

#define MAX_FRAMES 8
#define BIG_MAX 65536

/* What a connection would have seen: the frames in order and the error
 * that ended it, if any. */
typedef struct run_result {
  int nframes;
  uint8_t *payload[MAX_FRAMES];
  size_t payload_len[MAX_FRAMES];
  size_t payload_off[MAX_FRAMES];
  size_t frame_len[MAX_FRAMES];
  int raw[MAX_FRAMES];
  const char *error;
  size_t error_at; /* bytes delivered when the error was reported */
  size_t left;     /* bytes still buffered, not yet a frame */
} run_result;

static void result_free(run_result *r) {
  for (int i = 0; i < r->nframes; i++)
    free(r->payload[i]);
  memset(r, 0, sizeof *r);
}

/* Delivers `in` as a first chunk of `first` bytes, then chunks of `chunk`
 * bytes, calling the decoder after every delivery until it needs more. */
static void run(ohets_framing mode, size_t max, const void *in, size_t len,
                size_t first, size_t chunk, run_result *r) {
  memset(r, 0, sizeof *r);
  uint8_t *conn = malloc(len + 1);
  ck_assert_ptr_nonnull(conn);
  ohets_frame_decoder d;
  ohets_frame_decoder_init(&d, mode, max);
  size_t delivered = 0, have = 0;
  int first_round = 1;
  while (first_round || delivered < len) {
    size_t n = first_round ? first : chunk;
    if (n > len - delivered)
      n = len - delivered;
    first_round = 0;
    memcpy(conn + have, (const uint8_t *)in + delivered, n);
    have += n;
    delivered += n;
    for (;;) {
      ohets_frame f;
      ohets_frame_status st = ohets_frame_next(&d, conn, have, &f);
      if (st == OHETS_FRAME_NEED_MORE)
        break;
      if (st == OHETS_FRAME_ERROR) {
        ck_assert_ptr_nonnull(f.error);
        r->error = f.error;
        r->error_at = delivered;
        goto done;
      }
      ck_assert_int_eq(st, OHETS_FRAME_READY);
      ck_assert_uint_gt(f.frame_len, 0);
      ck_assert_uint_le(f.frame_len, have);
      ck_assert_uint_le(f.payload_off + f.payload_len, f.frame_len);
      ck_assert_int_lt(r->nframes, MAX_FRAMES);
      int i = r->nframes++;
      r->payload[i] = malloc(f.payload_len + 1);
      ck_assert_ptr_nonnull(r->payload[i]);
      memcpy(r->payload[i], conn + f.payload_off, f.payload_len);
      r->payload_len[i] = f.payload_len;
      r->payload_off[i] = f.payload_off;
      r->frame_len[i] = f.frame_len;
      r->raw[i] = f.raw;
      memmove(conn, conn + f.frame_len, have - f.frame_len);
      have -= f.frame_len;
    }
  }
done:
  r->left = have;
  free(conn);
}

static void run_whole(ohets_framing mode, size_t max, const void *in, size_t len,
                      run_result *r) {
  run(mode, max, in, len, len, 1, r);
}

static void run_bytewise(ohets_framing mode, size_t max, const void *in,
                         size_t len, run_result *r) {
  run(mode, max, in, len, 1, 1, r);
}

static void assert_same(const run_result *a, const run_result *b) {
  ck_assert_int_eq(a->nframes, b->nframes);
  for (int i = 0; i < a->nframes; i++) {
    ck_assert_uint_eq(a->payload_len[i], b->payload_len[i]);
    ck_assert_mem_eq(a->payload[i], b->payload[i], a->payload_len[i]);
    ck_assert_uint_eq(a->payload_off[i], b->payload_off[i]);
    ck_assert_uint_eq(a->frame_len[i], b->frame_len[i]);
    ck_assert_int_eq(a->raw[i], b->raw[i]);
  }
  if (a->error == NULL || b->error == NULL)
    ck_assert_ptr_eq(a->error, b->error);
  else
    ck_assert_str_eq(a->error, b->error);
}

#define LIT(s) s, sizeof(s) - 1

/* ------------------------------------------------------------------ */
/* Sample interchanges for raw framing.                                 */

/* IG 005010X279A1 subscriber example (x12-samples 270/01): one line, '~'. */
static const char raw_ig[] =
    "ISA*00*          *00*          *ZZ*123456789012345*ZZ*123456789012346*"
    "080503*1705*>*00501*000010216*0*T*:~GS*HS*1234567890*1234567890*2008050"
    "3*1705*20213*X*005010X279A1~ST*270*1234*005010X279A1~BHT*0022*13*100012"
    "34*20060501*1319~HL*1**20*1~NM1*PR*2*ABC COMPANY*****PI*842610001~HL*2*"
    "1*21*1~NM1*1P*2*BONE AND JOINT CLINIC*****SV*2000035~HL*3*2*22*0~TRN*1*"
    "93175-012547*9877281234~NM1*IL*1*SMITH*ROBERT****MI*11122333301~DMG*D8*"
    "19430519~DTP*291*D8*20060501~EQ*30~SE*13*1234~GE*1*20213~IEA*1*00001021"
    "6~";

/* Custom delimiters as in x12-samples 270/07: '|' elements, '!' segments,
 * '~' repetitions (so '~' must not end anything), CR LF after terminators,
 * and segments that contain IEA without being an IEA. */
static const char raw_custom[] =
    "ISA|00|          |00|          |ZZ|ACMEHOMEHLTH   |ZZ|DCMEDICAID     |"
    "260412|1230|~|00501|000000006|0|T|:!\r\n"
    "GS|HS|ACMEHOMEHLTH|DCMEDICAID|20260412|1230|6|X|005010X279A1!\r\n"
    "ST|270|0001|005010X279A1!\r\n"
    "REF|IEA|1~2!\r\n"
    "IEAX|1!\r\n"
    "IE|1!\r\n"
    "SE|3|0001!\r\n"
    "GE|1|6!\r\n"
    "IEA|1|000000006!";

/* A minimal interchange whose IEA has no elements at all. */
static const char raw_bare_iea[] =
    "ISA*00*          *00*          *ZZ*SUBMITTER01    *ZZ*CMS            *"
    "261123*1200*^*00501*000000001*0*T*:~IEA~";

/* ------------------------------------------------------------------ */
/* Whole wrapped frames.                                               */

static const struct {
  const char *name;
  const char *in;
  size_t len;
  const char *payload;
  size_t payload_len;
} wrapped_ok[] = {
    {"five bytes", LIT("\x01" "0000000005" "\x02" "hello" "\x03"), LIT("hello")},
    {"empty payload", LIT("\x01" "0000000000" "\x02" "\x03"), LIT("")},
    {"payload holding wrapper bytes",
     LIT("\x01" "0000000004" "\x02" "\x01\x03\x02\x00" "\x03"),
     LIT("\x01\x03\x02\x00")},
    {"payload of blanks", LIT("\x01" "0000000003" "\x02" "   " "\x03"), LIT("   ")},
};

START_TEST(test_wrapped_whole) {
  run_result r;
  run_whole(OHETS_FRAMING_HETS, BIG_MAX, wrapped_ok[_i].in, wrapped_ok[_i].len, &r);
  ck_assert_msg(r.error == NULL, "%s: unexpected %s", wrapped_ok[_i].name, r.error);
  ck_assert_int_eq(r.nframes, 1);
  ck_assert_uint_eq(r.payload_off[0], 12);
  ck_assert_uint_eq(r.payload_len[0], wrapped_ok[_i].payload_len);
  ck_assert_mem_eq(r.payload[0], wrapped_ok[_i].payload, wrapped_ok[_i].payload_len);
  ck_assert_uint_eq(r.frame_len[0], wrapped_ok[_i].payload_len + 13);
  ck_assert_int_eq(r.raw[0], 0);
  ck_assert_uint_eq(r.left, 0);
  result_free(&r);
}
END_TEST

/* The decoder's own answer for one call, without the harness. */
START_TEST(test_wrapped_fields_direct) {
  static const uint8_t in[] = "\x01" "0000000003" "\x02" "ABC" "\x03" "\x01";
  ohets_frame_decoder d;
  ohets_frame f;
  ohets_frame_decoder_init(&d, OHETS_FRAMING_HETS, BIG_MAX);
  /* Header bytes already checked are not looked at again. */
  ck_assert_int_eq(ohets_frame_next(&d, in, 5, &f), OHETS_FRAME_NEED_MORE);
  ck_assert_uint_eq(d.scanned, 5);
  ck_assert_int_eq(ohets_frame_next(&d, in, 15, &f), OHETS_FRAME_NEED_MORE);
  ck_assert_uint_eq(d.scanned, 12);
  ck_assert_int_eq(ohets_frame_next(&d, in, 16, &f), OHETS_FRAME_READY);
  ck_assert_uint_eq(f.payload_off, 12);
  ck_assert_uint_eq(f.payload_len, 3);
  ck_assert_uint_eq(f.frame_len, 16);
  ck_assert_int_eq(f.raw, 0);
  ck_assert_ptr_null(f.error);
  /* The SOH of the next frame alone is not a frame yet. */
  ck_assert_int_eq(ohets_frame_next(&d, in + 16, 1, &f), OHETS_FRAME_NEED_MORE);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Splits: any cut of the bytes gives the same frames.                  */

static const struct {
  const char *name;
  ohets_framing mode;
  const char *in;
  size_t len;
  int frames;
} split_cases[] = {
    {"wrapped", OHETS_FRAMING_HETS, LIT("\x01" "0000000005" "\x02" "hello" "\x03"), 1},
    {"three wrapped",
     OHETS_FRAMING_HETS,
     LIT("\x01" "0000000001" "\x02" "a" "\x03"
         "\x01" "0000000000" "\x02" "\x03"
         "\x01" "0000000003" "\x02" "xyz" "\x03"),
     3},
    {"raw ig", OHETS_FRAMING_RAW, raw_ig, sizeof raw_ig - 1, 1},
    {"raw custom", OHETS_FRAMING_RAW, raw_custom, sizeof raw_custom - 1, 1},
    {"auto raw", OHETS_FRAMING_AUTO, raw_ig, sizeof raw_ig - 1, 1},
    {"auto wrapped", OHETS_FRAMING_AUTO,
     LIT("\x01" "0000000005" "\x02" "hello" "\x03"), 1},
};

START_TEST(test_split_every_position) {
  const char *in = split_cases[_i].in;
  size_t len = split_cases[_i].len;
  ohets_framing mode = split_cases[_i].mode;
  run_result whole;
  run_whole(mode, BIG_MAX, in, len, &whole);
  ck_assert_msg(whole.error == NULL, "%s: %s", split_cases[_i].name, whole.error);
  ck_assert_int_eq(whole.nframes, split_cases[_i].frames);
  ck_assert_uint_eq(whole.left, 0);
  for (size_t cut = 0; cut <= len; cut++) {
    run_result r;
    run(mode, BIG_MAX, in, len, cut, len, &r);
    assert_same(&whole, &r);
    result_free(&r);
  }
  run_result bytes;
  run_bytewise(mode, BIG_MAX, in, len, &bytes);
  assert_same(&whole, &bytes);
  result_free(&bytes);
  for (size_t chunk = 2; chunk < 9; chunk++) {
    run_result r;
    run(mode, BIG_MAX, in, len, chunk, chunk, &r);
    assert_same(&whole, &r);
    result_free(&r);
  }
  result_free(&whole);
}
END_TEST

START_TEST(test_three_frames_one_buffer) {
  static const char in[] = "\x01" "0000000001" "\x02" "a" "\x03"
                           "\x01" "0000000002" "\x02" "bb" "\x03"
                           "\x01" "0000000003" "\x02" "ccc" "\x03"
                           "\x01" "00000";
  run_result r;
  run_whole(OHETS_FRAMING_HETS, BIG_MAX, in, sizeof in - 1, &r);
  ck_assert_ptr_null(r.error);
  ck_assert_int_eq(r.nframes, 3);
  ck_assert_mem_eq(r.payload[0], "a", 1);
  ck_assert_mem_eq(r.payload[1], "bb", 2);
  ck_assert_mem_eq(r.payload[2], "ccc", 3);
  ck_assert_uint_eq(r.frame_len[0], 14);
  ck_assert_uint_eq(r.frame_len[1], 15);
  ck_assert_uint_eq(r.frame_len[2], 16);
  ck_assert_uint_eq(r.left, 6); /* the start of a fourth waits */
  result_free(&r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Broken input: the code, and the byte at which it is reported when   */
/* bytes arrive one at a time.                                         */

static const struct {
  const char *name;
  ohets_framing mode;
  size_t max;
  const char *in;
  size_t len;
  const char *code;
  size_t at; /* bytes delivered when reported */
  int frames_before;
} broken[] = {
    {"first byte not SOH", OHETS_FRAMING_HETS, BIG_MAX, LIT("X0000000005"), "HTS00001", 1, 0},
    {"raw X12 on a wrapped listener", OHETS_FRAMING_HETS, BIG_MAX, LIT("ISA*00*"), "HTS00001", 1, 0},
    {"blank before SOH", OHETS_FRAMING_HETS, BIG_MAX, LIT(" \x01"), "HTS00001", 1, 0},
    {"letter in length", OHETS_FRAMING_HETS, BIG_MAX, LIT("\x01" "00000A0005" "\x02"), "HTS00001", 7, 0},
    {"blank in length", OHETS_FRAMING_HETS, BIG_MAX, LIT("\x01" " 000000005" "\x02"), "HTS00001", 2, 0},
    {"sign in length", OHETS_FRAMING_HETS, BIG_MAX, LIT("\x01" "-000000005" "\x02"), "HTS00001", 2, 0},
    {"length too short", OHETS_FRAMING_HETS, BIG_MAX, LIT("\x01" "00005" "\x02" "hello" "\x03"), "HTS00001", 7, 0},
    {"last digit bad", OHETS_FRAMING_HETS, BIG_MAX, LIT("\x01" "000000000x"), "HTS00001", 11, 0},
    {"STX missing", OHETS_FRAMING_HETS, BIG_MAX, LIT("\x01" "0000000005" "hello" "\x03"), "HTS00001", 12, 0},
    {"ETX missing", OHETS_FRAMING_HETS, BIG_MAX, LIT("\x01" "0000000005" "\x02" "hello" "X"), "HTS00001", 18, 0},
    {"length says more than sent", OHETS_FRAMING_HETS, BIG_MAX,
     LIT("\x01" "0000000003" "\x02" "hello" "\x03"), "HTS00001", 16, 0},
    {"second frame broken", OHETS_FRAMING_HETS, BIG_MAX,
     LIT("\x01" "0000000001" "\x02" "a" "\x03" "\x02"), "HTS00001", 15, 1},
    {"garbage after a good frame", OHETS_FRAMING_HETS, BIG_MAX,
     LIT("\x01" "0000000001" "\x02" "a" "\x03" "\r\n"), "HTS00001", 15, 1},
    {"raw: not ISA", OHETS_FRAMING_RAW, BIG_MAX, LIT("XSA*00"), "HTS00001", 1, 0},
    {"raw: IXA", OHETS_FRAMING_RAW, BIG_MAX, LIT("IXA*00"), "HTS00001", 2, 0},
    {"raw: ISX", OHETS_FRAMING_RAW, BIG_MAX, LIT("ISX*00"), "HTS00001", 3, 0},
    {"raw: wrapped frame on a raw listener", OHETS_FRAMING_RAW, BIG_MAX,
     LIT("\x01" "0000000005"), "HTS00001", 1, 0},
    {"raw: blanks then garbage", OHETS_FRAMING_RAW, BIG_MAX, LIT("\r\n \tGS*"), "HTS00001", 5, 0},
    {"auto: neither SOH nor I", OHETS_FRAMING_AUTO, BIG_MAX, LIT("GS*HS"), "HTS00001", 1, 0},
    {"auto: blank on a fresh connection", OHETS_FRAMING_AUTO, BIG_MAX, LIT("\nISA"), "HTS00001", 1, 0},
    {"auto: I but not ISA", OHETS_FRAMING_AUTO, BIG_MAX, LIT("IEA*1"), "HTS00001", 2, 0},
    {"auto: broken wrapper", OHETS_FRAMING_AUTO, BIG_MAX, LIT("\x01" "12345678x"), "HTS00001", 10, 0},
    {"auto: blank after a wrapped frame", OHETS_FRAMING_AUTO, BIG_MAX,
     LIT("\x01" "0000000001" "\x02" "a" "\x03" "\n"), "HTS00001", 15, 1},
    /* Size: refused as soon as the 10 digits are in. */
    {"declared length over max", OHETS_FRAMING_HETS, BIG_MAX, LIT("\x01" "0000065537" "\x02"), "HTS00002", 11, 0},
    {"huge declared length", OHETS_FRAMING_HETS, BIG_MAX, LIT("\x01" "9999999999"), "HTS00002", 11, 0},
    {"over a small max", OHETS_FRAMING_HETS, 4, LIT("\x01" "0000000005" "\x02" "hello" "\x03"), "HTS00002", 11, 0},
    {"auto: over max", OHETS_FRAMING_AUTO, 4, LIT("\x01" "0000000005" "\x02"), "HTS00002", 11, 0},
    {"bad digit wins over size", OHETS_FRAMING_HETS, 4, LIT("\x01" "99999x9999"), "HTS00001", 7, 0},
    {"raw: no IEA within max", OHETS_FRAMING_RAW, 120, raw_ig, sizeof raw_ig - 1, "HTS00002", 121, 0},
    {"raw: max shorter than an ISA", OHETS_FRAMING_RAW, 50, raw_ig, sizeof raw_ig - 1, "HTS00002", 51, 0},
    {"raw: one byte short of max", OHETS_FRAMING_RAW, sizeof raw_ig - 2, raw_ig, sizeof raw_ig - 1,
     "HTS00002", sizeof raw_ig - 1, 0},
};

START_TEST(test_broken) {
  run_result r;
  run_bytewise(broken[_i].mode, broken[_i].max, broken[_i].in, broken[_i].len, &r);
  ck_assert_msg(r.error != NULL, "%s: no error", broken[_i].name);
  ck_assert_msg(strcmp(r.error, broken[_i].code) == 0, "%s: got %s", broken[_i].name,
                r.error);
  ck_assert_msg(r.error_at == broken[_i].at, "%s: reported after %zu bytes, want %zu",
                broken[_i].name, r.error_at, broken[_i].at);
  ck_assert_int_eq(r.nframes, broken[_i].frames_before);
  result_free(&r);
  /* Fed whole, the same verdict. */
  run_whole(broken[_i].mode, broken[_i].max, broken[_i].in, broken[_i].len, &r);
  ck_assert_ptr_nonnull(r.error);
  ck_assert_str_eq(r.error, broken[_i].code);
  ck_assert_int_eq(r.nframes, broken[_i].frames_before);
  result_free(&r);
}
END_TEST

START_TEST(test_oversize_with_eleven_bytes) {
  static const uint8_t in[] = "\x01" "0000065537";
  ohets_frame_decoder d;
  ohets_frame f;
  ohets_frame_decoder_init(&d, OHETS_FRAMING_HETS, BIG_MAX);
  ck_assert_int_eq(ohets_frame_next(&d, in, 10, &f), OHETS_FRAME_NEED_MORE);
  ck_assert_int_eq(ohets_frame_next(&d, in, 11, &f), OHETS_FRAME_ERROR);
  ck_assert_str_eq(f.error, "HTS00002");
  /* Asking again gives the same answer. */
  ck_assert_int_eq(ohets_frame_next(&d, in, 11, &f), OHETS_FRAME_ERROR);
  ck_assert_str_eq(f.error, "HTS00002");
}
END_TEST

START_TEST(test_exactly_max_is_accepted) {
  size_t len = BIG_MAX + OHETS_FRAME_OVERHEAD;
  uint8_t *in = malloc(len);
  ck_assert_ptr_nonnull(in);
  memcpy(in, "\x01" "0000065536" "\x02", 12);
  memset(in + 12, 'x', BIG_MAX);
  in[len - 1] = OHETS_FRAME_ETX;
  ohets_frame_decoder d;
  ohets_frame f;
  ohets_frame_decoder_init(&d, OHETS_FRAMING_HETS, BIG_MAX);
  ck_assert_int_eq(ohets_frame_next(&d, in, 11, &f), OHETS_FRAME_NEED_MORE);
  ck_assert_int_eq(ohets_frame_next(&d, in, len - 1, &f), OHETS_FRAME_NEED_MORE);
  ck_assert_int_eq(ohets_frame_next(&d, in, len, &f), OHETS_FRAME_READY);
  ck_assert_uint_eq(f.payload_len, BIG_MAX);
  ck_assert_uint_eq(f.frame_len, len);
  free(in);
}
END_TEST

START_TEST(test_error_repeats) {
  static const uint8_t in[] = "\x01" "0000000005" "X";
  ohets_frame_decoder d;
  ohets_frame f;
  ohets_frame_decoder_init(&d, OHETS_FRAMING_HETS, BIG_MAX);
  for (int i = 0; i < 3; i++) {
    ck_assert_int_eq(ohets_frame_next(&d, in, 12, &f), OHETS_FRAME_ERROR);
    ck_assert_str_eq(f.error, "HTS00001");
  }
}
END_TEST

/* ------------------------------------------------------------------ */
/* Raw and auto framing.                                                */

START_TEST(test_raw_single) {
  run_result r;
  run_whole(OHETS_FRAMING_RAW, BIG_MAX, raw_ig, sizeof raw_ig - 1, &r);
  ck_assert_ptr_null(r.error);
  ck_assert_int_eq(r.nframes, 1);
  ck_assert_int_eq(r.raw[0], 1);
  ck_assert_uint_eq(r.payload_off[0], 0);
  ck_assert_uint_eq(r.payload_len[0], sizeof raw_ig - 1);
  ck_assert_uint_eq(r.frame_len[0], sizeof raw_ig - 1);
  result_free(&r);
}
END_TEST

START_TEST(test_raw_ends_at_iea_only) {
  /* Everything up to the last byte is not yet a frame: the REF*IEA, IEAX
   * and IE segments of raw_custom must not end it. */
  size_t len = sizeof raw_custom - 1;
  ohets_frame_decoder d;
  ohets_frame f;
  ohets_frame_decoder_init(&d, OHETS_FRAMING_RAW, BIG_MAX);
  for (size_t n = 0; n < len; n++)
    ck_assert_int_eq(ohets_frame_next(&d, (const uint8_t *)raw_custom, n, &f),
                     OHETS_FRAME_NEED_MORE);
  ck_assert_int_eq(ohets_frame_next(&d, (const uint8_t *)raw_custom, len, &f),
                   OHETS_FRAME_READY);
  ck_assert_uint_eq(f.payload_len, len);
  ck_assert_int_eq(f.raw, 1);
}
END_TEST

START_TEST(test_raw_bare_iea) {
  run_result r;
  run_whole(OHETS_FRAMING_RAW, BIG_MAX, raw_bare_iea, sizeof raw_bare_iea - 1, &r);
  ck_assert_ptr_null(r.error);
  ck_assert_int_eq(r.nframes, 1);
  ck_assert_uint_eq(r.payload_len[0], sizeof raw_bare_iea - 1);
  result_free(&r);
}
END_TEST

/* Three raw interchanges with line breaks and blanks between them. */
START_TEST(test_raw_three_with_line_breaks) {
  size_t a = sizeof raw_ig - 1, b = sizeof raw_custom - 1;
  size_t c = sizeof raw_bare_iea - 1;
  char *in = malloc(a + b + c + 16);
  ck_assert_ptr_nonnull(in);
  size_t n = 0;
  memcpy(in + n, raw_ig, a), n += a;
  memcpy(in + n, "\r\n", 2), n += 2;
  memcpy(in + n, raw_custom, b), n += b;
  memcpy(in + n, "\n \t\r\n", 5), n += 5;
  memcpy(in + n, raw_bare_iea, c), n += c;
  memcpy(in + n, "\r\n", 2), n += 2;
  for (int bytewise = 0; bytewise < 2; bytewise++) {
    run_result r;
    if (bytewise)
      run_bytewise(OHETS_FRAMING_RAW, BIG_MAX, in, n, &r);
    else
      run_whole(OHETS_FRAMING_RAW, BIG_MAX, in, n, &r);
    ck_assert_ptr_null(r.error);
    ck_assert_int_eq(r.nframes, 3);
    ck_assert_uint_eq(r.payload_off[0], 0);
    ck_assert_uint_eq(r.payload_len[0], a);
    ck_assert_uint_eq(r.frame_len[0], a);
    ck_assert_uint_eq(r.payload_off[1], 2); /* the CR LF is skipped */
    ck_assert_uint_eq(r.payload_len[1], b);
    ck_assert_uint_eq(r.frame_len[1], 2 + b);
    ck_assert_mem_eq(r.payload[1], raw_custom, b);
    ck_assert_uint_eq(r.payload_off[2], 5);
    ck_assert_uint_eq(r.frame_len[2], 5 + c);
    ck_assert_mem_eq(r.payload[2], raw_bare_iea, c);
    ck_assert_uint_eq(r.left, 2); /* trailing blanks wait for a next frame */
    result_free(&r);
  }
  free(in);
}
END_TEST

/* A byte trickle is examined once: the decoder's scanned mark follows the
 * bytes delivered instead of starting over. */
START_TEST(test_raw_scanned_advances) {
  size_t len = sizeof raw_ig - 1;
  ohets_frame_decoder d;
  ohets_frame f;
  ohets_frame_decoder_init(&d, OHETS_FRAMING_RAW, BIG_MAX);
  for (size_t n = 1; n < len; n++) {
    ck_assert_int_eq(ohets_frame_next(&d, (const uint8_t *)raw_ig, n, &f),
                     OHETS_FRAME_NEED_MORE);
    ck_assert_uint_eq(d.scanned, n);
  }
}
END_TEST

/* auto: a mix of wrapped and raw on one connection. */
START_TEST(test_auto_mixed) {
  size_t a = sizeof raw_ig - 1;
  char *in = malloc(a + 64);
  ck_assert_ptr_nonnull(in);
  size_t n = 0;
  memcpy(in + n, "\x01" "0000000002" "\x02" "w1" "\x03", 15), n += 15;
  memcpy(in + n, raw_ig, a), n += a;
  memcpy(in + n, "\r\n", 2), n += 2; /* tolerated after a raw frame */
  memcpy(in + n, "\x01" "0000000002" "\x02" "w2" "\x03", 15), n += 15;
  run_result whole, bytes;
  run_whole(OHETS_FRAMING_AUTO, BIG_MAX, in, n, &whole);
  ck_assert_ptr_null(whole.error);
  ck_assert_int_eq(whole.nframes, 3);
  ck_assert_int_eq(whole.raw[0], 0);
  ck_assert_mem_eq(whole.payload[0], "w1", 2);
  ck_assert_int_eq(whole.raw[1], 1);
  ck_assert_uint_eq(whole.payload_len[1], a);
  ck_assert_int_eq(whole.raw[2], 0);
  ck_assert_uint_eq(whole.payload_off[2], 14);
  ck_assert_mem_eq(whole.payload[2], "w2", 2);
  run_bytewise(OHETS_FRAMING_AUTO, BIG_MAX, in, n, &bytes);
  assert_same(&whole, &bytes);
  result_free(&whole);
  result_free(&bytes);
  free(in);
}
END_TEST

START_TEST(test_modes_fix_raw_flag) {
  run_result r;
  run_whole(OHETS_FRAMING_AUTO, BIG_MAX, raw_custom, sizeof raw_custom - 1, &r);
  ck_assert_int_eq(r.nframes, 1);
  ck_assert_int_eq(r.raw[0], 1);
  result_free(&r);
  run_whole(OHETS_FRAMING_HETS, BIG_MAX, LIT("\x01" "0000000001" "\x02" "I" "\x03"), &r);
  ck_assert_int_eq(r.nframes, 1);
  ck_assert_int_eq(r.raw[0], 0);
  result_free(&r);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Wrapping.                                                            */

START_TEST(test_wrap_exact_bytes) {
  ohets_buf b;
  ohets_buf_init(&b, 1024);
  ck_assert_int_eq(ohets_buf_puts(&b, "prefix"), 0);
  ck_assert_int_eq(ohets_frame_wrap(&b, (const uint8_t *)"ABC", 3), 0);
  static const char want[] = "prefix" "\x01" "0000000003" "\x02" "ABC" "\x03";
  ck_assert_uint_eq(b.len, sizeof want - 1);
  ck_assert_mem_eq(b.data, want, sizeof want - 1);
  ohets_buf_free(&b);
}
END_TEST

static const size_t round_trip_sizes[] = {0, 1, 105, 106, 4096, BIG_MAX};

START_TEST(test_wrap_round_trip) {
  size_t n = round_trip_sizes[_i];
  uint8_t *payload = malloc(n + 1);
  ck_assert_ptr_nonnull(payload);
  for (size_t i = 0; i < n; i++)
    payload[i] = (uint8_t)(i * 7 + 3); /* includes SOH, STX and ETX bytes */
  ohets_buf b;
  ohets_buf_init(&b, 2 * (BIG_MAX + OHETS_FRAME_OVERHEAD));
  ck_assert_int_eq(ohets_frame_wrap(&b, payload, n), 0);
  ck_assert_int_eq(ohets_frame_wrap(&b, payload, n), 0);
  ck_assert_uint_eq(b.len, 2 * (n + OHETS_FRAME_OVERHEAD));
  run_result r;
  run_whole(OHETS_FRAMING_HETS, BIG_MAX, b.data, b.len, &r);
  ck_assert_ptr_null(r.error);
  ck_assert_int_eq(r.nframes, 2);
  for (int k = 0; k < 2; k++) {
    ck_assert_uint_eq(r.payload_len[k], n);
    if (n > 0)
      ck_assert_mem_eq(r.payload[k], payload, n);
  }
  result_free(&r);
  ohets_buf_free(&b);
  free(payload);
}
END_TEST

START_TEST(test_wrap_bounded) {
  ohets_buf b;
  ohets_buf_init(&b, 20);
  ck_assert_int_eq(ohets_buf_puts(&b, "xy"), 0);
  /* 2 + 6 + 13 = 21 > 20: refused, and nothing half-written. */
  ck_assert_int_eq(ohets_frame_wrap(&b, (const uint8_t *)"123456", 6), -ENOBUFS);
  ck_assert_uint_eq(b.len, 2);
  /* 2 + 5 + 13 = 20 fits exactly. */
  ck_assert_int_eq(ohets_frame_wrap(&b, (const uint8_t *)"12345", 5), 0);
  ck_assert_uint_eq(b.len, 20);
  ohets_buf_free(&b);
}
END_TEST

static Suite *frame_suite(void) {
  Suite *s = suite_create("frame");
  TCase *t = tcase_create("wrapped");
  tcase_add_loop_test(t, test_wrapped_whole, 0,
                      (int)(sizeof wrapped_ok / sizeof wrapped_ok[0]));
  tcase_add_test(t, test_wrapped_fields_direct);
  tcase_add_test(t, test_three_frames_one_buffer);
  tcase_add_test(t, test_oversize_with_eleven_bytes);
  tcase_add_test(t, test_exactly_max_is_accepted);
  tcase_add_test(t, test_error_repeats);
  suite_add_tcase(s, t);

  t = tcase_create("splits");
  tcase_add_loop_test(t, test_split_every_position, 0,
                      (int)(sizeof split_cases / sizeof split_cases[0]));
  suite_add_tcase(s, t);

  t = tcase_create("broken");
  tcase_add_loop_test(t, test_broken, 0, (int)(sizeof broken / sizeof broken[0]));
  suite_add_tcase(s, t);

  t = tcase_create("raw_auto");
  tcase_add_test(t, test_raw_single);
  tcase_add_test(t, test_raw_ends_at_iea_only);
  tcase_add_test(t, test_raw_bare_iea);
  tcase_add_test(t, test_raw_three_with_line_breaks);
  tcase_add_test(t, test_raw_scanned_advances);
  tcase_add_test(t, test_auto_mixed);
  tcase_add_test(t, test_modes_fix_raw_flag);
  suite_add_tcase(s, t);

  t = tcase_create("wrap");
  tcase_add_test(t, test_wrap_exact_bytes);
  tcase_add_loop_test(t, test_wrap_round_trip, 0,
                      (int)(sizeof round_trip_sizes / sizeof round_trip_sizes[0]));
  tcase_add_test(t, test_wrap_bounded);
  suite_add_tcase(s, t);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(frame_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
