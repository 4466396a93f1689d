/* Envelope checks (ISA/IEA -> TA105 code) and the TA1 answer writer. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/req270.h"

/* The ISA fields of the good request, ISA08 = CMS; the body is the
 * 005010X279A1 subscriber example (kputnam/stupidedi fixture). */
static const char *const good_isa[17] = {"ISA",
                                         "00",
                                         "          ",
                                         "00",
                                         "          ",
                                         "ZZ",
                                         "1234567890     ",
                                         "ZZ",
                                         "CMS            ",
                                         "080503",
                                         "1705",
                                         ">",
                                         "00501",
                                         "000010216",
                                         "0",
                                         "T",
                                         ":"};

static const char good_body[] =
    "GS*HS*1234567890*1234567890*20080503*1705*20213*X*005010X279A1~"
    "ST*270*1234*005010X279A1~BHT*0022*13*10001234*20060501*1319~HL*1**20*1~"
    "NM1*PR*2*ABC COMPANY*****PI*842610001~HL*2*1*21*1~"
    "NM1*1P*2*BONE AND JOINT CLINIC*****SV*2000035~HL*3*2*22*0~"
    "TRN*1*93175-012547*9877281234~NM1*IL*1*SMITH*ROBERT****MI*11122333301~"
    "DMG*D8*19430519~DTP*291*D8*20060501~EQ*30~SE*13*1234~GE*1*20213~"
    "IEA*1*000010216~";

/* 07_custom_delimiters_kartik.x12 as published (ISA08 DCMEDICAID): element
 * |, repetition ~, component :, segment !, a newline after each segment. */
static const char custom_07[] =
    "ISA|00|          |00|          |ZZ|ACMEHOMEHLTH   |ZZ|DCMEDICAID     "
    "|260412|1230|~|00501|000000006|0|T|:!\n"
    "GS|HS|ACMEHOMEHLTH|DCMEDICAID|20260412|1230|6|X|005010X279A1!\n"
    "ST|270|0001|005010X279A1!\nBHT|0022|13|10001236|20260412|1230!\n"
    "HL|1||20|1!\nNM1|PR|2|DC MEDICAID|||||PI|DCMEDICAID!\nHL|2|1|21|1!\n"
    "NM1|1P|2|ACME HOME HEALTH|||||XX|1234567893!\nHL|3|2|22|0!\n"
    "TRN|1|TRACE0003|9877281234!\nNM1|IL|1|DOE|CUSTOM||||MI|000123453!\n"
    "DMG|D8|19920202|F!\nDTP|291|D8|20260412!\nEQ|30!\nSE|13|0001!\nGE|1|6!\n"
    "IEA|1|000000006!\n";

#define CUSTOM_TO_CMS "DCMEDICAID     |260412", "CMS            |260412"
#define ISA_ONLY                                                               \
  "ISA*00*          *00*          *ZZ*1234567890     *ZZ*CMS            "      \
  "*080503*1705*>*00501*000010216*0*T*:~"
#define IEA_GOOD "IEA*1*000010216~"
#define TEXT_MAX 4096

typedef struct env_case {
  const char *name;
  int custom;          /* 1: start from custom_07 instead of the good 270 */
  const char *isa[17]; /* ISA field overrides (NULL: keep) */
  const char *find;    /* every occurrence replaced by repl */
  const char *repl;
  const char *from, *to; /* byte-for-byte translation of the whole text */
  size_t keep;           /* > 0: keep only the first keep bytes */
  const char *expect;    /* TA105 code, NULL when the envelope is good */
} env_case;

static const env_case cases[] = {
    {.name = "good", .expect = NULL},
    {.name = "CR LF after every terminator", .find = "~", .repl = "~\r\n"},
    {.name = "LF after every terminator", .find = "~", .repl = "~\n"},
    {.name = "custom delimiters (07, ISA08 CMS)",
     .custom = 1,
     .find = "DCMEDICAID     |",
     .repl = "CMS            |"},
    {.name = "custom delimiters by translation", .from = "*~>", .to = "|!^"},
    {.name = "0x1D segment terminator", .from = "~", .to = "\x1d"},
    {.name = "ISA01 03 with a password",
     .isa = {[1] = "03", [2] = "PASSWORD12"}},
    {.name = "ISA03 01 with security info",
     .isa = {[3] = "01", [4] = "SECRET    "}},
    {.name = "ISA05/07 qualifier 30", .isa = {[5] = "30", [7] = "30"}},
    {.name = "ISA14 1", .isa = {[14] = "1"}},
    {.name = "ISA15 P", .isa = {[15] = "P"}},
    {.name = "ISA09 29 Feb 2000", .isa = {[9] = "000229"}},
    {.name = "ISA10 23:59", .isa = {[10] = "2359"}},
    {.name = "IEA01 with a leading zero", .find = "IEA*1*", .repl = "IEA*01*"},
    {.name = "two groups counted",
     .find = IEA_GOOD,
     .repl = "GS*HS*1234567890*CMS*20080503*1705*2*X*005010X279A1~GE*0*2~IEA*2*"
             "000010216~"},

    {.name = "ISA01 01", .isa = {[1] = "01"}, .expect = "010"},
    {.name = "ISA01 blanks", .isa = {[1] = "  "}, .expect = "010"},
    {.name = "ISA02 not blank with 00",
     .isa = {[2] = "PASSWORD12"},
     .expect = "011"},
    {.name = "ISA03 02", .isa = {[3] = "02"}, .expect = "012"},
    {.name = "ISA04 not blank with 00",
     .isa = {[4] = "SECRET    "},
     .expect = "013"},
    {.name = "ISA05 XX", .isa = {[5] = "XX"}, .expect = "005"},
    {.name = "ISA06 all blanks",
     .isa = {[6] = "               "},
     .expect = "006"},
    {.name = "ISA06 holds the component separator",
     .isa = {[6] = "ABC:DEF        "},
     .expect = "006"},
    {.name = "ISA06 holds a control byte",
     .isa = {[6] = "ABC\x01"
                   "DEF        "},
     .expect = "006"},
    {.name = "ISA07 99", .isa = {[7] = "99"}, .expect = "007"},
    {.name = "ISA08 another receiver",
     .isa = {[8] = "DCMEDICAID     "},
     .expect = "008"},
    {.name = "ISA08 CMS not left-justified",
     .isa = {[8] = " CMS           "},
     .expect = "008"},
    {.name = "ISA08 CMSX", .isa = {[8] = "CMSX           "}, .expect = "008"},
    {.name = "custom delimiters (07 as published)",
     .custom = 1,
     .expect = "008"},
    {.name = "ISA09 30 Feb", .isa = {[9] = "080230"}, .expect = "014"},
    {.name = "ISA09 29 Feb 2001", .isa = {[9] = "010229"}, .expect = "014"},
    {.name = "ISA09 month 13", .isa = {[9] = "081301"}, .expect = "014"},
    {.name = "ISA09 letters", .isa = {[9] = "0805AA"}, .expect = "014"},
    {.name = "ISA10 hour 24", .isa = {[10] = "2400"}, .expect = "015"},
    {.name = "ISA10 minute 60", .isa = {[10] = "1760"}, .expect = "015"},
    {.name = "ISA10 blanks", .isa = {[10] = "    "}, .expect = "015"},
    {.name = "4010 envelope",
     .isa = {[11] = "U", [12] = "00401"},
     .expect = "017"},
    {.name = "ISA12 00502", .isa = {[12] = "00502"}, .expect = "017"},
    {.name = "ISA11 a letter", .isa = {[11] = "U"}, .expect = "024"},
    {.name = "ISA11 blank", .isa = {[11] = " "}, .expect = "024"},
    {.name = "ISA11 equals ISA16", .isa = {[11] = ":"}, .expect = "027"},
    {.name = "ISA11 equals the segment terminator",
     .isa = {[11] = "~"},
     .expect = "024"},
    /* The reader reads ISA11 and ISA16 by position, so a clash with the
     * element separator or the terminator is a TA1 (DESIGN §3.1). */
    {.name = "ISA11 equals the element separator",
     .isa = {[11] = "*"},
     .expect = "024"},
    {.name = "ISA16 equals the element separator",
     .isa = {[16] = "*"},
     .expect = "027"},
    {.name = "ISA16 equals the segment terminator",
     .isa = {[16] = "~"},
     .expect = "027"},
    {.name = "ISA16 a letter", .isa = {[16] = "A"}, .expect = "027"},
    {.name = "ISA16 blank", .isa = {[16] = " "}, .expect = "027"},
    {.name = "segment terminator a letter",
     .from = "~",
     .to = "Q",
     .expect = "004"},
    {.name = "ISA13 not digits", .isa = {[13] = "00001021A"}, .expect = "018"},
    {.name = "ISA13 leading blank",
     .isa = {[13] = " 00010216"},
     .expect = "018"},
    {.name = "ISA14 2", .isa = {[14] = "2"}, .expect = "019"},
    {.name = "ISA15 X", .isa = {[15] = "X"}, .expect = "020"},
    {.name = "segment terminator inside ISA02",
     .isa = {[1] = "03", [2] = "PASS~WORD1"},
     .expect = "024"},
    {.name = "segment after ISA not GS",
     .find = "GS*HS*",
     .repl = "GX*HS*",
     .expect = "024"},
    {.name = "IEA right after ISA",
     .keep = 106,
     .find = "~",
     .repl = "~" IEA_GOOD,
     .expect = "024"},
    {.name = "second ISA inside",
     .find = "GE*1*20213~",
     .repl = "GE*1*20213~" ISA_ONLY,
     .expect = "022"},
    {.name = "segment after the IEA",
     .find = IEA_GOOD,
     .repl = IEA_GOOD "GS*HS*X~",
     .expect = "022"},
    {.name = "second interchange after the IEA",
     .find = IEA_GOOD,
     .repl = IEA_GOOD ISA_ONLY,
     .expect = "022"},
    {.name = "garbage after the IEA",
     .find = IEA_GOOD,
     .repl = IEA_GOOD "JUNK",
     .expect = "022"},
    {.name = "no IEA", .find = IEA_GOOD, .repl = "", .expect = "023"},
    {.name = "truncated inside the body",
     .find = "EQ*30~SE*13*1234~GE*1*20213~" IEA_GOOD,
     .repl = "EQ*3",
     .expect = "023"},
    {.name = "truncated inside the IEA",
     .find = IEA_GOOD,
     .repl = "IEA*1*0000",
     .expect = "023"},
    {.name = "ISA only", .keep = 106, .expect = "023"},
    {.name = "ISA and a partial GS", .keep = 110, .expect = "023"},
    {.name = "IEA02 differs",
     .find = IEA_GOOD,
     .repl = "IEA*1*000010217~",
     .expect = "001"},
    {.name = "IEA02 short",
     .find = IEA_GOOD,
     .repl = "IEA*1*10216~",
     .expect = "001"},
    {.name = "IEA01 2",
     .find = IEA_GOOD,
     .repl = "IEA*2*000010216~",
     .expect = "021"},
    {.name = "IEA01 empty",
     .find = IEA_GOOD,
     .repl = "IEA**000010216~",
     .expect = "021"},
    {.name = "IEA01 letter",
     .find = IEA_GOOD,
     .repl = "IEA*A*000010216~",
     .expect = "021"},
    {.name = "two groups, IEA01 1",
     .find = "GE*1*20213~",
     .repl = "GE*1*20213~GS*HS*1234567890*CMS*20080503*1705*2*X*005010X279A1~"
             "GE*0*2~",
     .expect = "021"},

    /* First failure wins. */
    {.name = "ISA08 and ISA12 bad",
     .isa = {[8] = "OTHER          ", [12] = "00401"},
     .expect = "008"},
    {.name = "ISA13 bad and no IEA",
     .isa = {[13] = "ABCDEFGHI"},
     .find = IEA_GOOD,
     .repl = "",
     .expect = "018"},
    {.name = "IEA02 and IEA01 bad",
     .find = IEA_GOOD,
     .repl = "IEA*7*000000001~",
     .expect = "001"},
};

/* Appends s to dst (capacity TEXT_MAX) or fails the test. */
static void append(char *dst, const char *s) {
  ck_assert_uint_lt(strlen(dst) + strlen(s), TEXT_MAX);
  strcat(dst, s);
}

static void build(const env_case *c, char *out) {
  char text[TEXT_MAX] = "";
  if (c->custom) {
    append(text, custom_07);
  } else {
    for (int f = 0; f < 17; f++) {
      if (f > 0)
        append(text, "*");
      append(text, c->isa[f] ? c->isa[f] : good_isa[f]);
    }
    append(text, "~");
    append(text, good_body);
  }
  if (c->keep > 0 && c->keep < strlen(text))
    text[c->keep] = '\0';
  out[0] = '\0';
  if (c->find != NULL) {
    size_t flen = strlen(c->find);
    const char *p = text;
    for (const char *hit; (hit = strstr(p, c->find)) != NULL; p = hit + flen) {
      char piece[TEXT_MAX];
      snprintf(piece, sizeof piece, "%.*s", (int)(hit - p), p);
      append(out, piece);
      append(out, c->repl);
    }
    ck_assert_msg(p != text, "%s: '%s' not found", c->name, c->find);
    append(out, p);
  } else {
    append(out, text);
  }
  if (c->from != NULL)
    for (char *b = out; *b; b++) {
      const char *k = strchr(c->from, *b);
      if (k != NULL)
        *b = c->to[k - c->from];
    }
}

START_TEST(envelope_codes) {
  const env_case *c = &cases[_i];
  char text[TEXT_MAX];
  build(c, text);
  ohets__x12 x;
  int rc = ohets__x12_parse(&x, text, strlen(text));
  ck_assert_msg(rc == 0, "%s: parse failed %d", c->name, rc);
  ohets__env env;
  const char *code = ohets__envelope_check(&x, &env);
  if (c->expect == NULL)
    ck_assert_msg(code == NULL, "%s: expected a good envelope, got %s", c->name,
                  code);
  else
    ck_assert_msg(code != NULL && strcmp(code, c->expect) == 0,
                  "%s: expected %s, got %s", c->name, c->expect,
                  code ? code : "NULL");
  ohets__x12_free(&x);
}
END_TEST

static const char *check_text(const char *text, ohets__env *env) {
  ohets__x12 x;
  ck_assert_int_eq(ohets__x12_parse(&x, text, strlen(text)), 0);
  const char *code = ohets__envelope_check(&x, env);
  ohets__x12_free(&x);
  return code;
}

static const env_case *case_named(const char *name) {
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    if (strcmp(cases[i].name, name) == 0)
      return &cases[i];
  ck_abort_msg("no case %s", name);
  return NULL;
}

static const char *check_case(const char *name, ohets__env *env) {
  char text[TEXT_MAX];
  build(case_named(name), text);
  return check_text(text, env);
}

START_TEST(env_fields_good) {
  ohets__env env;
  memset(&env, 0x55, sizeof env);
  ck_assert_ptr_null(check_case("good", &env));
  ck_assert_int_eq(env.d.element, '*');
  ck_assert_int_eq(env.d.repetition, '>');
  ck_assert_int_eq(env.d.component, ':');
  ck_assert_int_eq(env.d.segment, '~');
  ck_assert_str_eq(env.isa05, "ZZ");
  ck_assert_str_eq(env.isa06, "1234567890");
  ck_assert_str_eq(env.isa07, "ZZ");
  ck_assert_str_eq(env.isa08, "CMS");
  ck_assert_str_eq(env.isa09, "080503");
  ck_assert_str_eq(env.isa10, "1705");
  ck_assert_str_eq(env.isa13, "000010216");
  ck_assert_int_eq(env.isa14, '0');
  ck_assert_int_eq(env.isa15, 'T');
  ck_assert_str_eq(env.gs02, "1234567890");
  ck_assert_str_eq(env.gs03, "1234567890");
  ck_assert_str_eq(env.gs06, "20213");
}
END_TEST

START_TEST(env_fields_custom) {
  ohets__env env;
  ck_assert_ptr_null(check_case("custom delimiters (07, ISA08 CMS)", &env));
  ck_assert_int_eq(env.d.element, '|');
  ck_assert_int_eq(env.d.repetition, '~');
  ck_assert_int_eq(env.d.component, ':');
  ck_assert_int_eq(env.d.segment, '!');
  ck_assert_str_eq(env.isa06, "ACMEHOMEHLTH");
  ck_assert_str_eq(env.isa13, "000000006");
  ck_assert_str_eq(env.gs02, "ACMEHOMEHLTH");
  ck_assert_str_eq(env.gs03, "DCMEDICAID");
  ck_assert_str_eq(env.gs06, "6");
}
END_TEST

/* Whatever can be read is filled even when the envelope is refused. */
START_TEST(env_fields_on_error) {
  ohets__env env;
  ck_assert_str_eq(check_case("ISA08 another receiver", &env), "008");
  ck_assert_str_eq(env.isa06, "1234567890");
  ck_assert_str_eq(env.isa08, "DCMEDICAID");
  ck_assert_str_eq(env.isa13, "000010216");
  ck_assert_str_eq(env.gs02, "1234567890");
  ck_assert_str_eq(env.gs06, "20213");

  ck_assert_str_eq(check_case("ISA13 not digits", &env), "018");
  ck_assert_str_eq(env.isa13, "00001021A");
  ck_assert_str_eq(env.isa06, "1234567890");

  ck_assert_str_eq(check_case("segment after ISA not GS", &env), "024");
  ck_assert_str_eq(env.gs02, "");
  ck_assert_str_eq(env.gs06, "");

  ck_assert_str_eq(check_case("ISA only", &env), "023");
  ck_assert_str_eq(env.isa06, "1234567890");
  ck_assert_str_eq(env.gs02, "");
}
END_TEST

/* The reader refuses a letter as element separator, so reach the 026 rule
 * by giving the check a parsed interchange with its separator altered. */
START_TEST(element_separator_rule) {
  char text[TEXT_MAX];
  build(case_named("good"), text);
  ohets__x12 x;
  ck_assert_int_eq(ohets__x12_parse(&x, text, strlen(text)), 0);
  ohets__env env;
  x.d.element = 'E';
  ck_assert_str_eq(ohets__envelope_check(&x, &env), "026");
  x.d.element = '*';
  ck_assert_ptr_null(ohets__envelope_check(&x, &env));
  ohets__x12_free(&x);
}
END_TEST

/* ------------------------------------------------------------------ */
/* TA1 writer.                                                         */

static ohets_request_ctx fixed_ctx(void) {
  ohets_request_ctx ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.now.date.year = 2026;
  ctx.now.date.month = 11;
  ctx.now.date.day = 23;
  ctx.now.hour = 10;
  ctx.now.minute = 30;
  ctx.now.second = 15;
  ctx.now.millisecond = 123;
  ctx.control_number = 42;
  return ctx;
}

/* Runs the check on a case and writes the TA1 for its code. */
static void ta1_for_case(const char *name, const char *code_expected,
                         ohets_buf *out) {
  ohets__env env;
  const char *code = check_case(name, &env);
  ck_assert_ptr_nonnull(code);
  ck_assert_str_eq(code, code_expected);
  ohets_request_ctx ctx = fixed_ctx();
  ohets_buf_init(out, 65536);
  ck_assert_int_eq(ohets__write_ta1(out, &env, code, &ctx), 0);
}

static void assert_bytes(const ohets_buf *b, const char *expect) {
  ck_assert_msg(
      b->len == strlen(expect) && memcmp(b->data, expect, b->len) == 0,
      "got %.*s\nwant %s", (int)b->len, (const char *)b->data, expect);
}

START_TEST(ta1_bytes) {
  ohets_buf out;
  ta1_for_case("ISA11 a letter", "024", &out);
  /* ISA11 of the request (U) is unusable: the answer uses the defaults. */
  assert_bytes(
      &out,
      "ISA*00*          *00*          *ZZ*CMS            *ZZ*1234567890     "
      "*261123*1030*^*00501*000000042*0*T*:~"
      "TA1*000010216*080503*1705*R*024~IEA*0*000000042~");
  ohets_buf_free(&out);

  ta1_for_case("IEA02 differs", "001", &out);
  assert_bytes(
      &out,
      "ISA*00*          *00*          *ZZ*CMS            *ZZ*1234567890     "
      "*261123*1030*>*00501*000000042*0*T*:~"
      "TA1*000010216*080503*1705*R*001~IEA*0*000000042~");
  ohets_buf_free(&out);
}
END_TEST

/* ISA16 equal to the element separator: the request's set cannot be
 * mirrored whole, so the answer uses the defaults. */
START_TEST(ta1_for_isa16_clash) {
  ohets_buf out;
  ta1_for_case("ISA16 equals the element separator", "027", &out);
  assert_bytes(
      &out,
      "ISA*00*          *00*          *ZZ*CMS            *ZZ*1234567890     "
      "*261123*1030*^*00501*000000042*0*T*:~"
      "TA1*000010216*080503*1705*R*027~IEA*0*000000042~");
  ohets_buf_free(&out);
}
END_TEST

START_TEST(ta1_mirrors_custom_delimiters) {
  ohets_buf out;
  ta1_for_case("custom delimiters (07 as published)", "008", &out);
  assert_bytes(
      &out,
      "ISA|00|          |00|          |ZZ|CMS            |ZZ|ACMEHOMEHLTH   "
      "|261123|1030|~|00501|000000042|0|T|:!"
      "TA1|000000006|260412|1230|R|008!IEA|0|000000042!");
  ohets_buf_free(&out);
}
END_TEST

START_TEST(ta1_isa_shape) {
  ohets_buf out;
  ta1_for_case("custom delimiters (07 as published)", "008", &out);
  const char *p = (const char *)out.data;
  ck_assert_uint_gt(out.len, OHETS__ISA_LEN);
  ck_assert_ptr_eq(memchr(p, '!', out.len), p + OHETS__ISA_LEN - 1);
  ohets__delims d;
  ck_assert_int_eq(ohets__isa_delims(p, out.len, &d), 0);
  ck_assert_int_eq(d.element, '|');
  ck_assert_int_eq(d.segment, '!');
  ck_assert_int_eq(memcmp(p + 35, "CMS            ", 15), 0);
  ck_assert_int_eq(memcmp(p + 54, "ACMEHOMEHLTH   ", 15), 0);
  ohets_buf_free(&out);
}
END_TEST

/* Request values that are not valid are replaced by the answer's own. */
START_TEST(ta1_fallbacks) {
  ohets_buf out;
  ta1_for_case("ISA13 not digits", "018", &out);
  assert_bytes(
      &out,
      "ISA*00*          *00*          *ZZ*CMS            *ZZ*1234567890     "
      "*261123*1030*>*00501*000000042*0*T*:~"
      "TA1*000000000*080503*1705*R*018~IEA*0*000000042~");
  ohets_buf_free(&out);

  ta1_for_case("ISA09 month 13", "014", &out);
  ck_assert_ptr_nonnull(
      strstr((const char *)out.data, "TA1*000010216*261123*1705*R*014~"));
  ohets_buf_free(&out);

  ta1_for_case("ISA10 minute 60", "015", &out);
  ck_assert_ptr_nonnull(
      strstr((const char *)out.data, "TA1*000010216*080503*1030*R*015~"));
  ohets_buf_free(&out);

  /* Zeroed delimiters, a sender holding a delimiter, a bad qualifier. */
  ohets__env env;
  memset(&env, 0, sizeof env);
  snprintf(env.isa06, sizeof env.isa06, "SUB~1");
  snprintf(env.isa05, sizeof env.isa05, "X");
  ohets_request_ctx ctx = fixed_ctx();
  ohets_buf_init(&out, 65536);
  ck_assert_int_eq(ohets__write_ta1(&out, &env, "023", &ctx), 0);
  assert_bytes(
      &out,
      "ISA*00*          *00*          *ZZ*CMS            *ZZ*SUB 1          "
      "*261123*1030*^*00501*000000042*0*P*:~"
      "TA1*000000000*261123*1030*R*023~IEA*0*000000042~");
  ohets_buf_free(&out);
}
END_TEST

START_TEST(ta1_errors) {
  ohets__env env;
  ck_assert_str_eq(check_case("IEA02 differs", &env), "001");
  ohets_request_ctx ctx = fixed_ctx();
  ohets_buf out;
  ohets_buf_init(&out, 64); /* smaller than the ISA */
  ck_assert_int_eq(ohets__write_ta1(&out, &env, "001", &ctx), -ENOBUFS);
  ohets_buf_free(&out);
  ohets_buf_init(&out, 65536);
  ck_assert_int_eq(ohets__write_ta1(&out, &env, NULL, &ctx), -EINVAL);
  ck_assert_int_eq(ohets__write_ta1(&out, &env, "01", &ctx), -EINVAL);
  ck_assert_uint_eq(out.len, 0);
  ohets_buf_free(&out);
}
END_TEST

static Suite *envelope_suite(void) {
  Suite *s = suite_create("envelope");
  TCase *tc = tcase_create("check");
  tcase_add_loop_test(tc, envelope_codes, 0,
                      (int)(sizeof cases / sizeof cases[0]));
  tcase_add_test(tc, env_fields_good);
  tcase_add_test(tc, env_fields_custom);
  tcase_add_test(tc, env_fields_on_error);
  tcase_add_test(tc, element_separator_rule);
  suite_add_tcase(s, tc);
  TCase *tw = tcase_create("ta1");
  tcase_add_test(tw, ta1_bytes);
  tcase_add_test(tw, ta1_for_isa16_clash);
  tcase_add_test(tw, ta1_mirrors_custom_delimiters);
  tcase_add_test(tw, ta1_isa_shape);
  tcase_add_test(tw, ta1_fallbacks);
  tcase_add_test(tw, ta1_errors);
  suite_add_tcase(s, tw);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(envelope_suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
