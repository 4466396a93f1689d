/* The 270 validator: GS..GE and the 005010X279A1 270 inside, checked
 * against a table that describes the transaction set as data (loops,
 * segments, elements, code lists), producing 999 (005010X231A1) content.
 *
 * Sequencing is the usual X12 loop walk: a stack of open loops, each with
 * the index of the last child matched; a segment is placed at the first
 * child at or after that index, looking from the innermost loop outwards.
 * HETS answers one inquiry at a time, so a second GS, ST or 2000C is
 * rejected as "exceeds maximum use" (DESIGN §3.1), and 2000D (dependent)
 * is "not used" by HETS. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "req270.h"

#define IG_VERSION "005010X279A1"

/* ------------------------------------------------------------------ */
/* The table.                                                          */

enum el_type { T_AN, T_ID, T_DT, T_TM, T_N0, T_R };

enum el_check {
  CK_NONE,
  CK_DATE_BY_FMT, /* a date whose format (D8 / RD8) is the element before */
  CK_HL_ID,       /* HL01: 1, 2, 3 ... in order */
  CK_HL_PARENT    /* HL02: the HL01 of the enclosing HL loop */
};

typedef struct el_def {
  uint8_t pos;       /* position in the segment (1-based) */
  uint16_t ref;      /* X12 data element reference number */
  char usage;        /* 'R' required, 'S' situational, 'N' not used */
  uint8_t type;      /* enum el_type */
  uint8_t min, max;  /* length bounds */
  const char *codes; /* space-separated code list, NULL = any value */
  uint8_t reps;      /* maximum repetitions when above 1 */
  uint8_t phi;       /* 1: never copy the value into IK404 */
  uint8_t check;     /* enum el_check */
  const struct el_def *comps; /* composite: its components */
  uint8_t n_comps;
} el_def;

/* Syntax notes between two elements of one segment (X12 'P', 'C', 'R'). */
typedef struct el_rule {
  char kind; /* 'P' both or neither, 'C' if a then b, 'R' at least one */
  uint8_t a, b;
} el_rule;

typedef struct seg_def {
  const char *id;
  uint8_t n_std; /* elements the X12 standard defines for the segment */
  const el_def *els;
  uint8_t n_els;
  const el_rule *rules;
  uint8_t n_rules;
} seg_def;

typedef struct loop_def loop_def;

typedef struct kid_def { /* one child of a loop: a segment or a loop */
  const seg_def *seg;
  const loop_def *loop;
  char usage;   /* 'R' or 'S' */
  uint16_t max; /* max use or loop repeat; 0 = unbounded */
} kid_def;

struct loop_def {
  const char *id;        /* IK303 loop identifier, "" for the header */
  const char *qual;      /* trigger qualifier value, NULL = none */
  uint8_t qual_pos;      /* element of the trigger holding it */
  char usage;            /* 'N': HETS does not use this loop */
  const kid_def *kids;   /* kids[0] is the trigger segment */
  uint8_t n_kids;
  const char *over_code; /* IK304 when the loop repeats too often */
  uint8_t per_set_max;   /* instances allowed in the whole set, 0 = any */
};

#define N(a) ((uint8_t)(sizeof(a) / sizeof((a)[0])))
#define F(p, r, u, t, mn, mx, c)                                             \
  .pos = (p), .ref = (r), .usage = (u), .type = (t), .min = (mn),           \
  .max = (mx), .codes = (c)
#define SEG(d, u, m) {&(d), NULL, (u), (m)}
#define LOOP(d, u, m) {NULL, &(d), (u), (m)}

/* X12 service type codes (data element 1365) as used by X279A1. */
static const char stc_codes[] =
    "1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 "
    "27 28 30 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 "
    "52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 "
    "75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 "
    "98 99 A0 A1 A2 A3 A4 A5 A6 A7 A8 A9 AA AB AC AD AE AF AG AH AI AJ AK "
    "AL AM AN AO AQ AR B1 B2 B3 BA BB BC BD BE BF BG BH BI BJ BK BL BM BN "
    "BP BQ BR BS BT BU BV BW BX BY BZ C1 CA CB CC CD CE CF CG CH CI CJ CK "
    "CL CM CN CO CP CQ DG DM DS GF GN GY IC MH NI ON PT PU RN RT TC TN UC";

static const char prv_codes[] =
    "AD AT BI CO CV H HH LA OT P1 P2 PC PE R RF SB SK SU";

/* Header and trailer. */
static const el_def st_els[] = {
    {F(1, 143, 'R', T_ID, 3, 3, NULL)},
    {F(2, 329, 'R', T_AN, 4, 9, NULL)},
    {F(3, 1705, 'R', T_AN, 1, 35, NULL)},
};
static const seg_def st_seg = {"ST", 3, st_els, N(st_els), NULL, 0};

static const el_def bht_els[] = {
    {F(1, 1005, 'R', T_ID, 4, 4, "0022")},
    {F(2, 353, 'R', T_ID, 2, 2, "01 13")},
    {F(3, 127, 'S', T_AN, 1, 50, NULL)},
    {F(4, 373, 'R', T_DT, 8, 8, NULL)},
    {F(5, 337, 'R', T_TM, 4, 8, NULL)},
    {F(6, 640, 'S', T_ID, 2, 2, "RT")},
};
static const seg_def bht_seg = {"BHT", 6, bht_els, N(bht_els), NULL, 0};

static const el_def se_els[] = {
    {F(1, 96, 'R', T_N0, 1, 10, NULL)},
    {F(2, 329, 'R', T_AN, 4, 9, NULL)},
};
static const seg_def se_seg = {"SE", 2, se_els, N(se_els), NULL, 0};

/* HL, one per level. */
#define HL_ELS(name, parent_usage, level, child)                             \
  static const el_def name[] = {                                             \
      {F(1, 628, 'R', T_AN, 1, 12, NULL), .check = CK_HL_ID},                \
      {F(2, 734, parent_usage, T_AN, 1, 12, NULL), .check = CK_HL_PARENT},   \
      {F(3, 735, 'R', T_ID, 1, 2, level)},                                   \
      {F(4, 736, 'R', T_ID, 1, 1, child)},                                   \
  }
HL_ELS(hl_a_els, 'N', "20", "1");
HL_ELS(hl_b_els, 'R', "21", "1");
HL_ELS(hl_c_els, 'R', "22", "0 1");
HL_ELS(hl_d_els, 'R', "23", "0");
static const seg_def hl_a_seg = {"HL", 4, hl_a_els, N(hl_a_els), NULL, 0};
static const seg_def hl_b_seg = {"HL", 4, hl_b_els, N(hl_b_els), NULL, 0};
static const seg_def hl_c_seg = {"HL", 4, hl_c_els, N(hl_c_els), NULL, 0};
static const seg_def hl_d_seg = {"HL", 4, hl_d_els, N(hl_d_els), NULL, 0};

/* NM1 per loop; the 2100C names and ID are PHI. */
static const el_rule nm1_rules[] = {{'P', 8, 9}};
static const el_def nm1_a_els[] = {
    {F(1, 98, 'R', T_ID, 2, 3, "2B 36 GP P5 PR")},
    {F(2, 1065, 'R', T_ID, 1, 1, "1 2")},
    {F(3, 1035, 'S', T_AN, 1, 60, NULL)},
    {F(4, 1036, 'S', T_AN, 1, 35, NULL)},
    {F(5, 1037, 'S', T_AN, 1, 25, NULL)},
    {F(7, 1039, 'S', T_AN, 1, 10, NULL)},
    {F(8, 66, 'R', T_ID, 1, 2, "24 46 FI NI PI XV XX")},
    {F(9, 67, 'R', T_AN, 2, 80, NULL)},
};
static const el_def nm1_b_els[] = {
    {F(1, 98, 'R', T_ID, 2, 3, "1P 2B 36 80 FA GP P5 PR")},
    {F(2, 1065, 'R', T_ID, 1, 1, "1 2")},
    {F(3, 1035, 'S', T_AN, 1, 60, NULL)},
    {F(4, 1036, 'S', T_AN, 1, 35, NULL)},
    {F(5, 1037, 'S', T_AN, 1, 25, NULL)},
    {F(7, 1039, 'S', T_AN, 1, 10, NULL)},
    {F(8, 66, 'R', T_ID, 1, 2, "24 34 FI PI PP SV XV XX")},
    {F(9, 67, 'R', T_AN, 2, 80, NULL)},
};
/* NM108/NM109 are situational here: a missing MBI is a business problem
 * answered by a 271 with AAA 72 (DESIGN §5), not a syntax error. */
static const el_def nm1_c_els[] = {
    {F(1, 98, 'R', T_ID, 2, 3, "IL")},
    {F(2, 1065, 'R', T_ID, 1, 1, "1")},
    {F(3, 1035, 'S', T_AN, 1, 60, NULL), .phi = 1},
    {F(4, 1036, 'S', T_AN, 1, 35, NULL), .phi = 1},
    {F(5, 1037, 'S', T_AN, 1, 25, NULL), .phi = 1},
    {F(7, 1039, 'S', T_AN, 1, 10, NULL)},
    {F(8, 66, 'S', T_ID, 1, 2, "MI")},
    {F(9, 67, 'S', T_AN, 2, 80, NULL), .phi = 1},
};
static const seg_def nm1_a_seg = {"NM1", 12, nm1_a_els, N(nm1_a_els), NULL, 0};
static const seg_def nm1_b_seg = {"NM1", 12, nm1_b_els, N(nm1_b_els), NULL, 0};
static const seg_def nm1_c_seg = {"NM1", 12, nm1_c_els, N(nm1_c_els),
                                  nm1_rules, N(nm1_rules)};

static const el_def ref_b_els[] = {
    {F(1, 128, 'R', T_ID, 2, 3,
       "0B 1C 1D 1J 4A CT EL EO HPI JD N5 N7 Q4 SY TJ")},
    {F(2, 127, 'R', T_AN, 1, 50, NULL)},
    {F(3, 352, 'S', T_AN, 1, 80, NULL)},
};
static const el_def ref_c_els[] = {
    {F(1, 128, 'R', T_ID, 2, 3,
       "18 1L 1W 3H 49 6P CE CT EA EJ F6 GH HJ IG N6 NQ SY Y4")},
    {F(2, 127, 'R', T_AN, 1, 50, NULL), .phi = 1},
    {F(3, 352, 'S', T_AN, 1, 80, NULL)},
};
static const el_def ref_eq_els[] = {
    {F(1, 128, 'R', T_ID, 2, 3, "9F G1")},
    {F(2, 127, 'R', T_AN, 1, 50, NULL)},
    {F(3, 352, 'S', T_AN, 1, 80, NULL)},
};
static const seg_def ref_b_seg = {"REF", 4, ref_b_els, N(ref_b_els), NULL, 0};
static const seg_def ref_c_seg = {"REF", 4, ref_c_els, N(ref_c_els), NULL, 0};
static const seg_def ref_eq_seg = {"REF", 4, ref_eq_els, N(ref_eq_els), NULL, 0};

static const el_def n3_b_els[] = {
    {F(1, 166, 'R', T_AN, 1, 55, NULL)},
    {F(2, 166, 'S', T_AN, 1, 55, NULL)},
};
static const el_def n3_c_els[] = { /* the beneficiary's street: PHI */
    {F(1, 166, 'R', T_AN, 1, 55, NULL), .phi = 1},
    {F(2, 166, 'S', T_AN, 1, 55, NULL), .phi = 1},
};
static const seg_def n3_b_seg = {"N3", 2, n3_b_els, N(n3_b_els), NULL, 0};
static const seg_def n3_c_seg = {"N3", 2, n3_c_els, N(n3_c_els), NULL, 0};

static const el_def n4_b_els[] = {
    {F(1, 19, 'R', T_AN, 2, 30, NULL)},
    {F(2, 156, 'S', T_ID, 2, 2, NULL)},
    {F(3, 116, 'S', T_ID, 3, 15, NULL)},
    {F(4, 26, 'S', T_ID, 2, 3, NULL)},
    {F(7, 1715, 'S', T_ID, 1, 3, NULL)},
};
static const el_def n4_c_els[] = { /* city and ZIP of the beneficiary: PHI */
    {F(1, 19, 'R', T_AN, 2, 30, NULL), .phi = 1},
    {F(2, 156, 'S', T_ID, 2, 2, NULL)},
    {F(3, 116, 'S', T_ID, 3, 15, NULL), .phi = 1},
    {F(4, 26, 'S', T_ID, 2, 3, NULL)},
    {F(7, 1715, 'S', T_ID, 1, 3, NULL)},
};
static const seg_def n4_b_seg = {"N4", 7, n4_b_els, N(n4_b_els), NULL, 0};
static const seg_def n4_c_seg = {"N4", 7, n4_c_els, N(n4_c_els), NULL, 0};

static const el_def prv_els[] = {
    {F(1, 1221, 'R', T_ID, 1, 3, prv_codes)},
    {F(2, 128, 'R', T_ID, 2, 3, "PXC")},
    {F(3, 127, 'R', T_AN, 1, 50, NULL)},
};
static const seg_def prv_seg = {"PRV", 6, prv_els, N(prv_els), NULL, 0};

static const el_def trn_els[] = {
    {F(1, 481, 'R', T_ID, 1, 2, "1")},
    {F(2, 127, 'R', T_AN, 1, 50, NULL)},
    {F(3, 509, 'R', T_AN, 10, 10, NULL)},
    {F(4, 127, 'S', T_AN, 1, 50, NULL)},
};
static const seg_def trn_seg = {"TRN", 4, trn_els, N(trn_els), NULL, 0};

static const el_def dmg_els[] = {
    {F(1, 1250, 'R', T_ID, 2, 3, "D8")},
    {F(2, 1251, 'R', T_AN, 1, 35, NULL), .phi = 1, .check = CK_DATE_BY_FMT},
    {F(3, 1068, 'S', T_ID, 1, 1, "F M U")},
};
static const seg_def dmg_seg = {"DMG", 11, dmg_els, N(dmg_els), NULL, 0};

static const el_def ins_els[] = {
    {F(1, 1073, 'R', T_ID, 1, 1, "Y")},
    {F(2, 1069, 'R', T_ID, 2, 2, "18")},
    {F(17, 1470, 'S', T_N0, 1, 9, NULL)},
};
static const seg_def ins_seg = {"INS", 17, ins_els, N(ins_els), NULL, 0};

/* HI: C022 health care code information; the first is the principal
 * diagnosis, the others are other diagnoses. */
static const el_def hi_principal[] = {
    {F(1, 1270, 'R', T_ID, 1, 3, "ABK BK")},
    {F(2, 1271, 'R', T_AN, 1, 30, NULL)},
};
static const el_def hi_other[] = {
    {F(1, 1270, 'R', T_ID, 1, 3, "ABF BF")},
    {F(2, 1271, 'R', T_AN, 1, 30, NULL)},
};
#define HI_OTHER(p)                                                          \
  {F(p, 0, 'S', T_AN, 0, 0, NULL), .comps = hi_other, .n_comps = 9}
static const el_def hi_els[] = {
    {F(1, 0, 'R', T_AN, 0, 0, NULL), .comps = hi_principal, .n_comps = 9},
    HI_OTHER(2), HI_OTHER(3), HI_OTHER(4), HI_OTHER(5), HI_OTHER(6),
    HI_OTHER(7), HI_OTHER(8),
};
static const seg_def hi_seg = {"HI", 12, hi_els, N(hi_els), NULL, 0};

static const el_def dtp_c_els[] = {
    {F(1, 374, 'R', T_ID, 3, 3, "102 291")},
    {F(2, 1250, 'R', T_ID, 2, 3, "D8 RD8")},
    {F(3, 1251, 'R', T_AN, 1, 35, NULL), .check = CK_DATE_BY_FMT},
};
static const el_def dtp_eq_els[] = {
    {F(1, 374, 'R', T_ID, 3, 3, "291")},
    {F(2, 1250, 'R', T_ID, 2, 3, "D8 RD8")},
    {F(3, 1251, 'R', T_AN, 1, 35, NULL), .check = CK_DATE_BY_FMT},
};
static const seg_def dtp_c_seg = {"DTP", 3, dtp_c_els, N(dtp_c_els), NULL, 0};
static const seg_def dtp_eq_seg = {"DTP", 3, dtp_eq_els, N(dtp_eq_els), NULL, 0};

/* EQ: C003 procedure, C004 diagnosis pointers. */
static const el_def eq_proc[] = {
    {F(1, 235, 'R', T_ID, 2, 2, "AD CJ HC ID IV N4 ZZ")},
    {F(2, 234, 'R', T_AN, 1, 48, NULL)},
    {F(3, 1339, 'S', T_AN, 2, 2, NULL)},
    {F(4, 1339, 'S', T_AN, 2, 2, NULL)},
    {F(5, 1339, 'S', T_AN, 2, 2, NULL)},
    {F(6, 1339, 'S', T_AN, 2, 2, NULL)},
    {F(7, 352, 'N', T_AN, 1, 80, NULL)},
    {F(8, 234, 'S', T_AN, 1, 48, NULL)},
};
static const el_def eq_diag[] = {
    {F(1, 1328, 'R', T_N0, 1, 2, NULL)},
    {F(2, 1328, 'S', T_N0, 1, 2, NULL)},
    {F(3, 1328, 'S', T_N0, 1, 2, NULL)},
    {F(4, 1328, 'S', T_N0, 1, 2, NULL)},
};
static const el_rule eq_rules[] = {{'R', 1, 2}};
static const el_def eq_els[] = {
    {F(1, 1365, 'S', T_ID, 1, 2, stc_codes), .reps = 99},
    {F(2, 0, 'S', T_AN, 0, 0, NULL), .comps = eq_proc, .n_comps = 8},
    {F(3, 1207, 'S', T_ID, 3, 3, "CHD DEP ECH EMP ESP FAM IND SPC SPO")},
    {F(5, 0, 'S', T_AN, 0, 0, NULL), .comps = eq_diag, .n_comps = 4},
};
static const seg_def eq_seg = {"EQ", 5, eq_els, N(eq_els), eq_rules,
                               N(eq_rules)};

static const el_def amt_els[] = {
    {F(1, 522, 'R', T_ID, 1, 3, "R PB")},
    {F(2, 782, 'R', T_R, 1, 18, NULL)},
};
static const seg_def amt_seg = {"AMT", 3, amt_els, N(amt_els), NULL, 0};

static const el_def iii_els[] = {
    {F(1, 1270, 'R', T_ID, 1, 3, "ZZ")},
    {F(2, 1271, 'R', T_AN, 1, 30, NULL)},
};
static const seg_def iii_seg = {"III", 9, iii_els, N(iii_els), NULL, 0};

/* Loops, innermost first so each can point at its children. */
static const kid_def l2110c_kids[] = {
    SEG(eq_seg, 'R', 1),     SEG(amt_seg, 'S', 2), SEG(iii_seg, 'S', 1),
    SEG(ref_eq_seg, 'S', 1), SEG(dtp_eq_seg, 'S', 1),
};
static const loop_def l2110c = {"2110C", NULL, 0, 'R', l2110c_kids,
                                N(l2110c_kids), "4", 0};

static const kid_def l2100c_kids[] = {
    SEG(nm1_c_seg, 'R', 1), SEG(ref_c_seg, 'S', 9), SEG(n3_c_seg, 'S', 1),
    SEG(n4_c_seg, 'S', 1),  SEG(prv_seg, 'S', 1),   SEG(dmg_seg, 'S', 1),
    SEG(ins_seg, 'S', 1),   SEG(hi_seg, 'S', 1),    SEG(dtp_c_seg, 'S', 2),
    LOOP(l2110c, 'R', 99),
};
static const loop_def l2100c = {"2100C", NULL, 0, 'R', l2100c_kids,
                                N(l2100c_kids), "4", 0};

/* 2000D mirrors 2000C; HETS does not use it, so it is only walked over. */
static const kid_def l2110d_kids[] = {
    SEG(eq_seg, 'R', 1),     SEG(amt_seg, 'S', 2), SEG(iii_seg, 'S', 1),
    SEG(ref_eq_seg, 'S', 1), SEG(dtp_eq_seg, 'S', 1),
};
static const loop_def l2110d = {"2110D", NULL, 0, 'N', l2110d_kids,
                                N(l2110d_kids), "4", 0};
static const kid_def l2100d_kids[] = {
    SEG(nm1_c_seg, 'R', 1), SEG(ref_c_seg, 'S', 9), SEG(n3_c_seg, 'S', 1),
    SEG(n4_c_seg, 'S', 1),  SEG(prv_seg, 'S', 1),   SEG(dmg_seg, 'S', 1),
    SEG(ins_seg, 'S', 1),   SEG(hi_seg, 'S', 1),    SEG(dtp_c_seg, 'S', 2),
    LOOP(l2110d, 'R', 99),
};
static const loop_def l2100d = {"2100D", NULL, 0, 'N', l2100d_kids,
                                N(l2100d_kids), "4", 0};
static const kid_def l2000d_kids[] = {
    SEG(hl_d_seg, 'R', 1), SEG(trn_seg, 'S', 2), LOOP(l2100d, 'R', 1),
};
static const loop_def l2000d = {"2000D", "23", 3, 'N', l2000d_kids,
                                N(l2000d_kids), "4", 0};

static const kid_def l2000c_kids[] = {
    SEG(hl_c_seg, 'R', 1), SEG(trn_seg, 'S', 2), LOOP(l2100c, 'R', 1),
    LOOP(l2000d, 'S', 0),
};
/* One subscriber inquiry per interchange (DESIGN §3.1): the second is
 * "segment exceeds maximum use". */
static const loop_def l2000c = {"2000C", "22", 3, 'R', l2000c_kids,
                                N(l2000c_kids), "5", 1};

static const kid_def l2100b_kids[] = {
    SEG(nm1_b_seg, 'R', 1), SEG(ref_b_seg, 'S', 9), SEG(n3_b_seg, 'S', 1),
    SEG(n4_b_seg, 'S', 1),  SEG(prv_seg, 'S', 1),
};
static const loop_def l2100b = {"2100B", NULL, 0, 'R', l2100b_kids,
                                N(l2100b_kids), "4", 0};
static const kid_def l2000b_kids[] = {
    SEG(hl_b_seg, 'R', 1), LOOP(l2100b, 'R', 1), LOOP(l2000c, 'R', 0),
};
static const loop_def l2000b = {"2000B", "21", 3, 'R', l2000b_kids,
                                N(l2000b_kids), "4", 0};

static const kid_def l2100a_kids[] = {SEG(nm1_a_seg, 'R', 1)};
static const loop_def l2100a = {"2100A", NULL, 0, 'R', l2100a_kids,
                                N(l2100a_kids), "4", 0};
static const kid_def l2000a_kids[] = {
    SEG(hl_a_seg, 'R', 1), LOOP(l2100a, 'R', 1), LOOP(l2000b, 'R', 0),
};
static const loop_def l2000a = {"2000A", "20", 3, 'R', l2000a_kids,
                                N(l2000a_kids), "4", 0};

static const kid_def set_kids[] = {
    SEG(st_seg, 'R', 1), SEG(bht_seg, 'R', 1), LOOP(l2000a, 'R', 0),
    SEG(se_seg, 'R', 1),
};
static const loop_def set_loop = {"", NULL, 0, 'R', set_kids, N(set_kids),
                                  "4", 0};
#define SE_KID 3

/* Every segment ID the 270 defines (IK304 2 vs 6 vs 1). */
static const char ids_in_270[] =
    "ST BHT HL NM1 REF N3 N4 PRV TRN DMG INS HI DTP EQ AMT III SE";
/* Other X12 segment IDs, enough to tell "not in this transaction set"
 * from "not a segment at all". */
static const char ids_x12[] =
    "AAA ACT AK1 AK2 AK3 AK4 AK5 AK9 AMT B2 B2A BEG BGN BPR CAS CL1 CLM CLP "
    "CN1 CR1 CR2 CR3 CR5 CR6 CR7 CRC CTP CTX CUR DN1 DN2 DSB DTM EB FRM G61 "
    "G62 GE GS HCP HCR HD HSD IDC IEA IK3 IK4 IK5 IMM INS ISA IT1 K1 K2 K3 "
    "LE LIN LQ LS LUI LX MEA MIA MOA MPI MSG N1 N2 N9 NTE OI PAT PER PLA PLB "
    "PO1 PS1 PWK QTY RDM SAC SBR SV1 SV2 SV3 SV4 SV5 SV6 SV7 SVC SVD TA1 "
    "TOO TS2 TS3 UM UR";

/* ------------------------------------------------------------------ */
/* Validation state: fixed size, no allocation.                        */

#define MAX_DEPTH 8
#define MAX_KIDS 12

typedef struct frame {
  const loop_def *loop;
  int idx;                  /* last child matched */
  uint16_t count[MAX_KIDS]; /* uses of each child in this instance */
  uint32_t hl_id;           /* HL01 of this loop's HL, 0 = none */
  int quiet;                /* not used / over max: walk, don't report */
} frame;

typedef struct vstate {
  const ohets__x12 *x;
  char rep, comp;           /* repetition and component separators */
  int rep_ok, comp_ok;      /* 1: that separator can split data (separators_ok) */
  ohets__ack_set *set;      /* where errors go */
  int errors;               /* errors found (even past the ack's room) */
  ohets__270 *req;          /* filled when not NULL */
  uint32_t st_ordinal;      /* ordinal of the set's ST */
  frame stack[MAX_DEPTH];
  int depth;
  unsigned hl_seen;         /* HL segments so far */
  unsigned n_once;          /* instances of the loop with per_set_max */
  unsigned n_2110c;         /* 2110C instances (DTP*291 fallback) */
  int dos_from_2100c;       /* DTP*291 already taken from 2100C */
} vstate;

/* ------------------------------------------------------------------ */
/* Small helpers.                                                      */

static int in_list(const char *list, const char *v, size_t n) {
  /* One pass over the space-separated list, comparing in place. */
  if (n == 0)
    return 0;
  const char *p = list;
  for (;;) {
    size_t k = 0;
    while (k < n && p[k] == v[k] && p[k] != ' ')
      k++;
    if (k == n && (p[n] == ' ' || p[n] == '\0'))
      return 1;
    p += k;
    while (*p != ' ' && *p != '\0')
      p++;
    if (*p == '\0')
      return 0;
    p++;
  }
}

/* Decimal value of p when it is 1-9 digits, else -1. */
static long small_number(const char *p, size_t n) {
  if (n == 0 || n > 9 || !ohets__all_digits(p, n))
    return -1;
  long v = 0;
  for (size_t i = 0; i < n; i++)
    v = v * 10 + (p[i] - '0');
  return v;
}

static int valid_time(const char *p, size_t n) {
  if ((n != 4 && n != 6 && n != 7 && n != 8) || !ohets__all_digits(p, n))
    return 0;
  int hh = (p[0] - '0') * 10 + (p[1] - '0');
  int mm = (p[2] - '0') * 10 + (p[3] - '0');
  int ss = n >= 6 ? (p[4] - '0') * 10 + (p[5] - '0') : 0;
  return hh <= 23 && mm <= 59 && ss <= 59;
}

static void copy_str(char *dst, size_t size, const char *p, size_t n) {
  size_t c = n < size - 1 ? n : size - 1;
  memcpy(dst, p, c);
  dst[c] = '\0';
}

static uint32_t seg_pos(const vstate *vs, const ohets__seg *s) {
  return s->ordinal - vs->st_ordinal + 1;
}

/* One IK3 (and IK4 when elem_pos > 0).  bad may be NULL. */
typedef struct err_info {
  const char *seg_id;
  uint32_t pos;
  const char *loop;
  const char *ik304;
  uint16_t elem_pos, comp_pos, rep_pos, ref;
  const char *ik403;
  const char *bad;
  size_t bad_len;
  uint16_t ctx_elem; /* situational trigger in the same segment */
} err_info;

static void add_error(vstate *vs, const err_info *e) {
  vs->errors++;
  ohets__ack_set *set = vs->set;
  if (set->n_err >= OHETS__MAX_ACK_ERRORS)
    return;
  ohets__ack_error *a = &set->err[set->n_err++];
  memset(a, 0, sizeof *a);
  copy_str(a->seg_id, sizeof a->seg_id, e->seg_id, strlen(e->seg_id));
  a->seg_pos = e->pos;
  copy_str(a->loop, sizeof a->loop, e->loop, strlen(e->loop));
  copy_str(a->ik304, sizeof a->ik304, e->ik304, strlen(e->ik304));
  if (e->elem_pos > 0) {
    a->elem_pos = e->elem_pos;
    a->comp_pos = e->comp_pos;
    a->rep_pos = e->rep_pos;
    a->elem_ref = e->ref;
    copy_str(a->ik403, sizeof a->ik403, e->ik403, strlen(e->ik403));
    if (e->bad != NULL)
      copy_str(a->bad, sizeof a->bad, e->bad, e->bad_len);
  }
  if (e->ctx_elem > 0) {
    copy_str(a->ctx_seg, sizeof a->ctx_seg, e->seg_id, strlen(e->seg_id));
    a->ctx_pos = e->pos;
    copy_str(a->ctx_loop, sizeof a->ctx_loop, e->loop, strlen(e->loop));
    a->ctx_elem = e->ctx_elem;
  }
}

static void seg_error(vstate *vs, const char *id, uint32_t pos,
                      const char *loop, const char *ik304) {
  err_info e = {.seg_id = id, .pos = pos, .loop = loop, .ik304 = ik304};
  add_error(vs, &e);
}

/* ------------------------------------------------------------------ */
/* Elements.                                                           */

typedef struct el_ctx { /* the segment being checked */
  vstate *vs;
  const ohets__seg *s;
  char id[4];
  uint32_t pos;
  const char *loop;
} el_ctx;

static void el_error(const el_ctx *c, const el_def *d, uint16_t elem,
                     uint16_t comp, uint16_t rep, const char *code,
                     const char *bad, size_t bad_len) {
  err_info e = {.seg_id = c->id, .pos = c->pos, .loop = c->loop, .ik304 = "8",
                .elem_pos = elem, .comp_pos = comp, .rep_pos = rep,
                .ref = d ? d->ref : 0, .ik403 = code};
  if (bad != NULL && bad_len > 0 && !(d && d->phi)) {
    e.bad = bad;
    e.bad_len = bad_len;
  }
  add_error(c->vs, &e);
}

/* A date element: D8 = CCYYMMDD, RD8 = CCYYMMDD-CCYYMMDD, each a real date.
 * A range whose end precedes its start is syntactically valid; HETS answers
 * it with AAA 57 (checks.c), so it is not a 999 error here. */
static int date_ok(const char *fmt, size_t fn, const char *v, size_t n) {
  ohets_date a, b;
  if (fn == 2 && memcmp(fmt, "D8", 2) == 0)
    return ohets_date_parse_d8(v, n, &a) == 0;
  if (fn == 3 && memcmp(fmt, "RD8", 3) == 0)
    return n == 17 && v[8] == '-' && ohets_date_parse_d8(v, 8, &a) == 0 &&
           ohets_date_parse_d8(v + 9, 8, &b) == 0;
  return 1; /* an unknown format is reported on its own element */
}

/* Checks one simple value (an element, a component or a repetition). */
static void check_value(const el_ctx *c, const el_def *d, uint16_t elem,
                        uint16_t comp, uint16_t rep, const char *v, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char ch = (unsigned char)v[i];
    if (ch < 0x20 || ch >= 0x7f) {
      el_error(c, d, elem, comp, rep, "6", v, n);
      return;
    }
  }
  size_t len = n;
  if (d->type == T_N0 || d->type == T_R) {
    /* Numbers: optional sign, digits, one decimal point for R; the length
     * counts digits only. */
    size_t i = 0, digits = 0;
    int dots = 0, ok = 1;
    if (i < n && v[i] == '-')
      i++;
    for (; i < n; i++) {
      if (v[i] >= '0' && v[i] <= '9')
        digits++;
      else if (v[i] == '.' && d->type == T_R && dots == 0)
        dots++;
      else
        ok = 0;
    }
    if (!ok || digits == 0) {
      el_error(c, d, elem, comp, rep, "6", v, n);
      return;
    }
    len = digits;
  }
  if (d->type == T_DT) {
    ohets_date t;
    if (ohets_date_parse_d8(v, n, &t) != 0)
      el_error(c, d, elem, comp, rep, "8", v, n);
    return;
  }
  if (d->type == T_TM) {
    if (!valid_time(v, n))
      el_error(c, d, elem, comp, rep, "9", v, n);
    return;
  }
  if (d->min > 0 && len < d->min) {
    el_error(c, d, elem, comp, rep, "4", v, n);
    return;
  }
  if (d->max > 0 && len > d->max) {
    el_error(c, d, elem, comp, rep, "5", v, n);
    return;
  }
  if (d->codes != NULL && !in_list(d->codes, v, n)) {
    el_error(c, d, elem, comp, rep, "7", v, n);
    return;
  }
  if (d->check == CK_DATE_BY_FMT && elem > 1) {
    size_t fn;
    const char *fmt = ohets__el(c->vs->x, c->s, elem - 1u, &fn);
    if (!date_ok(fmt, fn, v, n))
      el_error(c, d, elem, comp, rep, "8", v, n);
  }
}

/* HL01 counts 1, 2, 3...; HL02 names the enclosing HL. */
static void check_hl(const el_ctx *c, const el_def *d, const char *v,
                     size_t n) {
  vstate *vs = c->vs;
  frame *f = &vs->stack[vs->depth - 1];
  long num = small_number(v, n);
  if (d->check == CK_HL_ID) {
    if (num != (long)vs->hl_seen)
      el_error(c, d, d->pos, 0, 0, "I12", v, n);
    f->hl_id = num > 0 ? (uint32_t)num : 0;
    return;
  }
  uint32_t parent = 0;
  for (int i = vs->depth - 2; i >= 0; i--)
    if (vs->stack[i].hl_id != 0) {
      parent = vs->stack[i].hl_id;
      break;
    }
  if (num < 0 || (uint32_t)num != parent)
    el_error(c, d, d->pos, 0, 0, "I12", v, n);
}

static const el_def *find_el(const seg_def *sd, unsigned pos) {
  for (unsigned i = 0; i < sd->n_els; i++)
    if (sd->els[i].pos == pos)
      return &sd->els[i];
  return NULL;
}

static int separators_ok(char sep) {
  /* A letter or digit as ISA11 (the 4010 'U') can't split data. */
  return sep != '\0' && !ohets__is_alnum_or_blank(sep);
}

/* ok: separators_ok(ch), worked out once per interchange.  A plain loop:
 * values are a few bytes, shorter than a memchr call costs. */
static int contains(const char *v, size_t n, char ch, int ok) {
  if (!ok)
    return 0;
  for (size_t i = 0; i < n; i++)
    if (v[i] == ch)
      return 1;
  return 0;
}

static void check_element(const el_ctx *c, const el_def *d, const char *v,
                          size_t n) {
  vstate *vs = c->vs;
  uint16_t pos = d->pos;
  if (d->usage == 'N') {
    el_error(c, d, pos, 0, 0, "I10", v, n);
    return;
  }
  unsigned reps = contains(v, n, vs->rep, vs->rep_ok) ? ohets__count(v, n, vs->rep) : 1;
  unsigned max_reps = d->reps > 1 ? d->reps : 1;
  if (reps > max_reps) {
    el_error(c, d, pos, 0, 0, "12", v, n);
    return;
  }
  for (unsigned r = 0; r < reps; r++) {
    size_t rn;
    const char *rv = reps > 1 ? ohets__split(v, n, vs->rep, r, &rn) : v;
    if (reps == 1)
      rn = n;
    uint16_t rep_pos = d->reps > 1 ? (uint16_t)(r + 1) : 0;
    if (d->comps == NULL) {
      if (contains(rv, rn, vs->comp, vs->comp_ok)) {
        el_error(c, d, pos, 0, rep_pos, "13", rv, rn);
        continue;
      }
      if (rn == 0) {
        if (d->usage == 'R')
          el_error(c, d, pos, 0, rep_pos, "1", NULL, 0);
        continue;
      }
      if (d->check == CK_HL_ID || d->check == CK_HL_PARENT)
        check_hl(c, d, rv, rn);
      else
        check_value(c, d, pos, 0, rep_pos, rv, rn);
      continue;
    }
    unsigned ncomp = contains(rv, rn, vs->comp, vs->comp_ok) ? ohets__count(rv, rn, vs->comp) : 1;
    if (ncomp > d->n_comps) {
      el_error(c, d, pos, 0, rep_pos, "13", rv, rn);
      continue;
    }
    for (unsigned k = 1; k <= d->n_comps; k++) {
      const el_def *cd = NULL;
      for (unsigned i = 0; i < d->n_comps && cd == NULL; i++)
        if (d->comps[i].pos == k && d->comps[i].ref != 0)
          cd = &d->comps[i];
      size_t cn;
      const char *cv = ohets__split(rv, rn, vs->comp, k - 1, &cn);
      if (cd == NULL) {
        if (cn > 0)
          el_error(c, d, pos, (uint16_t)k, rep_pos, "I10", cv, cn);
        continue;
      }
      if (cn == 0) {
        if (cd->usage == 'R')
          el_error(c, cd, pos, (uint16_t)k, rep_pos, "1", NULL, 0);
        continue;
      }
      check_value(c, cd, pos, (uint16_t)k, rep_pos, cv, cn);
    }
  }
}

static void check_segment(vstate *vs, const seg_def *sd, const ohets__seg *s,
                          const char *loop) {
  el_ctx c = {.vs = vs, .s = s, .pos = seg_pos(vs, s), .loop = loop};
  copy_str(c.id, sizeof c.id, sd->id, strlen(sd->id));
  unsigned present = s->nelem - 1;
  unsigned last = present < sd->n_std ? present : sd->n_std;
  /* The tables list elements by position: walk them with a cursor rather
   * than search per position (a search was a fifth of the validator). */
  int sorted = 1;
  for (unsigned i = 1; i < sd->n_els; i++)
    sorted &= sd->els[i - 1].pos < sd->els[i].pos;
  unsigned next = 0;
  for (unsigned pos = 1; pos <= sd->n_std; pos++) {
    const el_def *d;
    if (!sorted)
      d = find_el(sd, pos);
    else if (next < sd->n_els && sd->els[next].pos == pos)
      d = &sd->els[next++];
    else
      d = NULL;
    size_t n;
    const char *v = ohets__el(vs->x, s, pos, &n);
    if (d == NULL) {
      if (pos <= last && n > 0) {
        el_def unused = {F((uint8_t)pos, 0, 'N', T_AN, 0, 0, NULL)};
        el_error(&c, &unused, (uint16_t)pos, 0, 0, "I10", v, n);
      }
      continue;
    }
    if (n == 0) {
      if (d->usage == 'R')
        el_error(&c, d, (uint16_t)pos, 0, 0, "1", NULL, 0);
      continue;
    }
    check_element(&c, d, v, n);
  }
  if (present > sd->n_std)
    el_error(&c, NULL, (uint16_t)(sd->n_std + 1), 0, 0, "3", NULL, 0);
  for (unsigned i = 0; i < sd->n_rules; i++) {
    const el_rule *r = &sd->rules[i];
    size_t na, nb;
    ohets__el(vs->x, s, r->a, &na);
    ohets__el(vs->x, s, r->b, &nb);
    if (r->kind == 'R' && na == 0 && nb == 0) {
      el_error(&c, find_el(sd, r->a), r->a, 0, 0, "2", NULL, 0);
    } else if ((r->kind == 'P' || r->kind == 'C') && na > 0 && nb == 0) {
      err_info e = {.seg_id = c.id, .pos = c.pos, .loop = loop, .ik304 = "8",
                    .elem_pos = r->b, .ref = find_el(sd, r->b)->ref,
                    .ik403 = "2", .ctx_elem = r->a};
      add_error(vs, &e);
    } else if (r->kind == 'P' && nb > 0 && na == 0) {
      err_info e = {.seg_id = c.id, .pos = c.pos, .loop = loop, .ik304 = "8",
                    .elem_pos = r->a, .ref = find_el(sd, r->a)->ref,
                    .ik403 = "2", .ctx_elem = r->b};
      add_error(vs, &e);
    }
  }
}

/* ------------------------------------------------------------------ */
/* What a valid 270 hands on (req270.h).                               */

typedef struct fill_def {
  const loop_def *loop;
  const char *seg;
  uint8_t elem;
  size_t off, size;
} fill_def;

#define FILL(l, s, e, field)                                                 \
  {&(l), s, e, offsetof(ohets__270, field), sizeof(((ohets__270 *)0)->field)}
static const fill_def fills[] = {
    FILL(set_loop, "ST", 2, st02),       FILL(set_loop, "BHT", 3, bht03),
    FILL(l2100a, "NM1", 3, payer_name),  FILL(l2100a, "NM1", 8, payer_qual),
    FILL(l2100a, "NM1", 9, payer_id),    FILL(l2100b, "NM1", 1, prov_entity),
    FILL(l2100b, "NM1", 2, prov_type),   FILL(l2100b, "NM1", 3, prov_last),
    FILL(l2100b, "NM1", 4, prov_first),  FILL(l2100b, "NM1", 8, prov_qual),
    FILL(l2100b, "NM1", 9, prov_id),     FILL(l2100c, "NM1", 8, sub_qual),
    FILL(l2100c, "NM1", 9, sub_id),      FILL(l2100c, "NM1", 3, sub_last),
    FILL(l2100c, "NM1", 4, sub_first),   FILL(l2100c, "NM1", 5, sub_middle),
    FILL(l2100c, "NM1", 7, sub_suffix),
};

static void take_dos(vstate *vs, const ohets__seg *s) {
  ohets__270 *q = vs->req;
  q->has_dos = 1;
  ohets__el_copy(vs->x, s, 2, q->dos_fmt, sizeof q->dos_fmt);
  ohets__el_copy(vs->x, s, 3, q->dos, sizeof q->dos);
}

static void fill_req(vstate *vs, const loop_def *loop, const ohets__seg *s) {
  ohets__270 *q = vs->req;
  const ohets__x12 *x = vs->x;
  for (size_t i = 0; i < sizeof fills / sizeof fills[0]; i++)
    if (fills[i].loop == loop && ohets__seg_is(x, s, fills[i].seg))
      ohets__el_copy(x, s, fills[i].elem, (char *)q + fills[i].off,
                     fills[i].size);
  if (loop == &l2000c && ohets__seg_is(x, s, "TRN") && q->n_trn < OHETS__MAX_TRN) {
    ohets__trn *t = &q->trn[q->n_trn++];
    ohets__el_copy(x, s, 1, t->type, sizeof t->type);
    ohets__el_copy(x, s, 2, t->ref, sizeof t->ref);
    ohets__el_copy(x, s, 3, t->orig, sizeof t->orig);
    ohets__el_copy(x, s, 4, t->supp, sizeof t->supp);
  } else if (loop == &l2100c && ohets__seg_is(x, s, "DMG")) {
    size_t n;
    q->has_dmg = 1;
    if (ohets__el_eq(x, s, 1, "D8"))
      ohets__el_copy(x, s, 2, q->dob, sizeof q->dob);
    const char *sex = ohets__el(x, s, 3, &n);
    q->sex = n == 1 ? sex[0] : 0;
  } else if (loop == &l2100c && ohets__seg_is(x, s, "DTP") &&
             ohets__el_eq(x, s, 1, "291") && !vs->dos_from_2100c) {
    vs->dos_from_2100c = 1;
    take_dos(vs, s);
  } else if (loop == &l2110c && ohets__seg_is(x, s, "DTP") &&
             ohets__el_eq(x, s, 1, "291") && !vs->dos_from_2100c &&
             vs->n_2110c == 1) {
    take_dos(vs, s);
  } else if (loop == &l2110c && ohets__seg_is(x, s, "EQ")) {
    size_t n;
    const char *v = ohets__el(x, s, 1, &n);
    unsigned reps = n == 0 ? 0 : ohets__count(v, n, vs->rep);
    for (unsigned r = 0; r < reps && q->n_stc < OHETS__MAX_STC; r++) {
      size_t rn;
      const char *rv = ohets__split(v, n, vs->rep, r, &rn);
      if (rn > 0)
        copy_str(q->stc[q->n_stc++], sizeof q->stc[0], rv, rn);
    }
  }
}

/* ------------------------------------------------------------------ */
/* Sequencing.                                                         */

typedef struct place {
  int level;
  int kid;
  int inner; /* >= 0: the trigger of loop `kid` is missing; enter it and
                place the segment at its child `inner` */
} place;

static const seg_def *kid_seg(const kid_def *k) {
  return k->seg ? k->seg : k->loop->kids[0].seg;
}

/* strict: a qualified loop matches only on its qualifier; loose: a
 * qualified loop in use matches any value (the value is then reported). */
static int kid_matches(const vstate *vs, const kid_def *k,
                       const ohets__seg *s, int strict) {
  if (!ohets__seg_is(vs->x, s, kid_seg(k)->id))
    return 0;
  if (k->loop == NULL || k->loop->qual == NULL)
    return strict;
  if (strict)
    return ohets__el_eq(vs->x, s, k->loop->qual_pos, k->loop->qual);
  return k->loop->usage != 'N';
}

static int first_kid(const frame *f) {
  /* A loop's trigger never repeats inside it: a second one starts a new
   * instance at the parent's level. */
  return f->idx < 1 ? 1 : f->idx;
}

static int find_place(const vstate *vs, const ohets__seg *s, place *p) {
  for (int strict = 1; strict >= 0; strict--)
    for (int lvl = vs->depth - 1; lvl >= 0; lvl--) {
      const frame *f = &vs->stack[lvl];
      for (int k = first_kid(f); k < f->loop->n_kids; k++)
        if (kid_matches(vs, &f->loop->kids[k], s, strict)) {
          *p = (place){lvl, k, -1};
          return 1;
        }
    }
  /* A segment that belongs inside a child loop whose trigger is missing. */
  for (int lvl = vs->depth - 1; lvl >= 0; lvl--) {
    const frame *f = &vs->stack[lvl];
    for (int k = f->idx + 1 > 1 ? f->idx + 1 : 1; k < f->loop->n_kids; k++) {
      const loop_def *l = f->loop->kids[k].loop;
      if (l == NULL || l->usage == 'N')
        continue;
      for (int j = 1; j < l->n_kids; j++)
        if (l->kids[j].seg && ohets__seg_is(vs->x, s, l->kids[j].seg->id)) {
          *p = (place){lvl, k, j};
          return 1;
        }
    }
  }
  return 0;
}

/* IK304 for a segment that fits nowhere ahead. */
static const char *misplaced_code(const vstate *vs, const ohets__seg *s) {
  size_t n;
  const char *id = ohets__el(vs->x, s, 0, &n);
  for (int lvl = vs->depth - 1; lvl >= 0; lvl--) {
    const frame *f = &vs->stack[lvl];
    for (int k = 0; k < f->idx && k < f->loop->n_kids; k++)
      if (ohets__seg_is(vs->x, s, kid_seg(&f->loop->kids[k])->id))
        return "7"; /* belongs earlier in a loop already open */
  }
  if (in_list(ids_in_270, id, n))
    return "2";
  if (in_list(ids_x12, id, n))
    return "6";
  return "1";
}

static int frame_quiet(const vstate *vs) {
  return vs->depth > 0 && vs->stack[vs->depth - 1].quiet;
}

static void report_missing(vstate *vs, const frame *f, int from, int to,
                           uint32_t pos, int skip_se) {
  if (f->quiet)
    return;
  for (int k = from; k < to; k++) {
    const kid_def *kd = &f->loop->kids[k];
    if (kd->usage != 'R' || f->count[k] > 0)
      continue;
    if (skip_se && f->loop == &set_loop && k == SE_KID)
      continue;
    const char *loop = kd->loop ? kd->loop->id : f->loop->id;
    seg_error(vs, kid_seg(kd)->id, pos, loop, "3");
  }
}

static void push_loop(vstate *vs, const loop_def *l, int quiet) {
  frame *f = &vs->stack[vs->depth++];
  memset(f, 0, sizeof *f);
  f->loop = l;
  f->idx = 0;
  f->count[0] = 1;
  f->quiet = quiet;
}

/* Moves to place p; returns the loop the segment sits in, or NULL when the
 * segment must not be checked (over max use, or in a quiet loop). */
static const loop_def *enter(vstate *vs, const place *p, const ohets__seg *s,
                             const seg_def **sd) {
  uint32_t pos = seg_pos(vs, s);
  while (vs->depth - 1 > p->level) {
    frame *top = &vs->stack[vs->depth - 1];
    report_missing(vs, top, top->idx + 1, top->loop->n_kids, pos, 0);
    vs->depth--;
  }
  frame *f = &vs->stack[p->level];
  report_missing(vs, f, f->idx + 1, p->kid, pos, 0);
  if (p->kid != f->idx)
    f->idx = p->kid;
  uint16_t uses = ++f->count[p->kid];
  const kid_def *kd = &f->loop->kids[p->kid];
  if (kd->seg != NULL) {
    *sd = kd->seg;
    if (kd->max > 0 && uses > kd->max) {
      if (!f->quiet)
        seg_error(vs, kd->seg->id, pos, f->loop->id, "5");
      return NULL;
    }
    return f->quiet ? NULL : f->loop;
  }
  const loop_def *l = kd->loop;
  int quiet = f->quiet;
  const char *why = NULL;
  if (l->usage == 'N')
    why = "I4";
  else if (kd->max > 0 && uses > kd->max)
    why = l->over_code;
  else if (l->per_set_max > 0 && ++vs->n_once > l->per_set_max)
    why = l->over_code;
  if (why != NULL && !quiet)
    seg_error(vs, kid_seg(kd)->id, pos, l->id, why);
  push_loop(vs, l, quiet || why != NULL);
  if (l == &l2110c)
    vs->n_2110c++;
  if (p->inner >= 0) {
    /* The trigger was missing: report it, then place the segment inside. */
    if (!vs->stack[vs->depth - 1].quiet)
      seg_error(vs, kid_seg(kd)->id, pos, l->id, "3");
    place q = {vs->depth - 1, p->inner, -1};
    return enter(vs, &q, s, sd);
  }
  if (l == &l2000c || l == &l2000b || l == &l2000a || l == &l2000d)
    vs->hl_seen++;
  *sd = l->kids[0].seg;
  return vs->stack[vs->depth - 1].quiet ? NULL : l;
}

static void place_segment(vstate *vs, const ohets__seg *s) {
  place p;
  if (!find_place(vs, s, &p)) {
    if (!frame_quiet(vs)) {
      char id[4];
      ohets__el_copy(vs->x, s, 0, id, sizeof id);
      seg_error(vs, id, seg_pos(vs, s),
                vs->stack[vs->depth - 1].loop->id, misplaced_code(vs, s));
    }
    return;
  }
  const seg_def *sd = NULL;
  const loop_def *loop = enter(vs, &p, s, &sd);
  if (loop == NULL)
    return;
  check_segment(vs, sd, s, loop->id);
  if (vs->req != NULL)
    fill_req(vs, loop, s);
}

/* ------------------------------------------------------------------ */
/* Transaction sets and the functional group.                          */

static void add_ik502(ohets__ack_set *set, const char *code) {
  if (set->n_ik502 < 5)
    copy_str(set->ik502[set->n_ik502++], sizeof set->ik502[0], code,
             strlen(code));
}

/* Starts the checks of the set whose ST is sst: vs reset to write into
 * set (and req when not NULL), the ST's ids copied. */
static void begin_set(vstate *vs, const ohets__x12 *x, const ohets__env *env,
                      const ohets__seg *sst, ohets__ack_set *set,
                      ohets__270 *req) {
  memset(set, 0, sizeof *set);
  memset(vs, 0, sizeof *vs);
  vs->x = x;
  vs->rep = env->d.repetition;
  vs->comp = env->d.component;
  vs->rep_ok = separators_ok(vs->rep);
  vs->comp_ok = separators_ok(vs->comp);
  vs->set = set;
  vs->req = req;
  vs->st_ordinal = sst->ordinal;
  ohets__el_copy(x, sst, 1, set->st01, sizeof set->st01);
  ohets__el_copy(x, sst, 2, set->st02, sizeof set->st02);
  ohets__el_copy(x, sst, 3, set->st03, sizeof set->st03);
  if (req != NULL)
    memset(req, 0, sizeof *req);
}

/* The set's trailer: SE's count and control number, or, without an SE,
 * every loop closed where it was due.  Adds IK502 codes to trailer. */
static void check_trailer(vstate *vs, const ohets__x12 *x, size_t st, size_t end,
                          int has_se, char (*trailer)[4], unsigned *n_trailer) {
  if (!has_se) {
    uint32_t pos = (uint32_t)(end - st) + 1;
    while (vs->depth > 0) {
      frame *top = &vs->stack[vs->depth - 1];
      report_missing(vs, top, top->idx + 1, top->loop->n_kids, pos, 1);
      vs->depth--;
    }
    copy_str(trailer[(*n_trailer)++], 4, "2", 1); /* trailer missing */
    return;
  }
  const ohets__seg *sst = &x->segs[st], *se = &x->segs[end - 1];
  size_t n, n2;
  const char *v = ohets__el(x, se, 1, &n);
  if (small_number(v, n) != (long)(end - st))
    copy_str(trailer[(*n_trailer)++], 4, "4", 1); /* segment count */
  v = ohets__el(x, se, 2, &n);
  const char *v2 = ohets__el(x, sst, 2, &n2);
  if (n != n2 || memcmp(v, v2, n) != 0)
    copy_str(trailer[(*n_trailer)++], 4, "3", 1); /* control numbers */
}

/* Validates segments [st, end) of x as one 270; SE is at end - 1 when
 * has_se.  Fills set (and req when not NULL).  extra_st: this set is one
 * too many for the group, so its ST is reported first with that IK304. */
static void validate_set(const ohets__x12 *x, const ohets__env *env,
                         size_t st, size_t end, int has_se,
                         const char *extra_st, ohets__ack_set *set,
                         ohets__270 *req, vstate *vs) {
  const ohets__seg *sst = &x->segs[st];
  char trailer[3][4];
  unsigned n_trailer = 0;
  begin_set(vs, x, env, sst, set, req);
  if (extra_st != NULL)
    seg_error(vs, "ST", 1, "", extra_st);

  if (!ohets__el_eq(x, sst, 1, "270")) {
    copy_str(trailer[n_trailer++], 4, "1", 1); /* set not supported */
  } else if (!ohets__el_eq(x, sst, 3, IG_VERSION)) {
    /* X231A1 IK502 "I6": implementation convention not supported. */
    copy_str(trailer[n_trailer++], 4, "I6", 2);
  } else {
    push_loop(vs, &set_loop, 0);
    check_segment(vs, &st_seg, sst, "");
    if (req != NULL)
      fill_req(vs, &set_loop, sst);
    for (size_t i = st + 1; i < end; i++)
      place_segment(vs, &x->segs[i]);
    check_trailer(vs, x, st, end, has_se, trailer, &n_trailer);
  }

  if (vs->errors > 0)
    add_ik502(set, "5");
  for (unsigned i = 0; i < n_trailer; i++)
    add_ik502(set, trailer[i]);
  set->ik501 = set->n_ik502 > 0 ? 'R' : 'A';
}

/* An error found after the set's SE (a stray segment, an extra ST or GS),
 * reported in that set's AK2; positions keep counting from its ST. */
static void set_extra_error(ohets__ack_set *set, const ohets__x12 *x,
                            uint32_t st_ordinal, const ohets__seg *s,
                            const char *ik304) {
  vstate vs;
  memset(&vs, 0, sizeof vs);
  vs.x = x;
  vs.set = set;
  vs.st_ordinal = st_ordinal;
  char id[4];
  ohets__el_copy(x, s, 0, id, sizeof id);
  seg_error(&vs, id, seg_pos(&vs, s), "", ik304);
  for (unsigned i = 0; i < set->n_ik502; i++)
    if (strcmp(set->ik502[i], "5") == 0)
      goto done;
  /* "5" goes first, ahead of any trailer codes already there. */
  if (set->n_ik502 == 5)
    set->n_ik502 = 4;
  memmove(set->ik502[1], set->ik502[0], set->n_ik502 * sizeof set->ik502[0]);
  copy_str(set->ik502[0], sizeof set->ik502[0], "5", 1);
  set->n_ik502++;
done:
  set->ik501 = 'R';
}

static void add_ak905(ohets__ack *ack, const char *code) {
  for (unsigned i = 0; i < ack->n_ak905; i++)
    if (strcmp(ack->ak905[i], code) == 0)
      return;
  if (ack->n_ak905 < 5)
    copy_str(ack->ak905[ack->n_ak905++], sizeof ack->ak905[0], code,
             strlen(code));
}

static void push_code(char (*codes)[4], unsigned *n, const char *code) {
  if (*n < 5)
    copy_str(codes[(*n)++], 4, code, strlen(code));
}

static int is_boundary(const ohets__x12 *x, const ohets__seg *s) {
  return ohets__seg_is(x, s, "ST") || ohets__seg_is(x, s, "GE") ||
         ohets__seg_is(x, s, "GS") || ohets__seg_is(x, s, "IEA");
}

/* Where the functional group's parts are; nsegs for what is absent. */
typedef struct group_map {
  size_t nsegs;
  size_t gs;        /* the first GS */
  size_t ge;        /* its GE */
  size_t end;       /* the GE, or whatever ends the group early (GS, IEA) */
  size_t next_gs;   /* a GS after the group */
  size_t first_st, second_st;
  unsigned received;   /* ST segments in the group */
  int stray_before_st; /* a segment between GS and the first ST */
} group_map;

static void map_group(const ohets__x12 *x, group_map *g) {
  size_t nsegs = x->nsegs;
  g->nsegs = nsegs;
  g->gs = g->ge = g->end = g->next_gs = g->first_st = g->second_st = nsegs;
  g->received = 0;
  g->stray_before_st = 0;
  for (size_t i = 0; i < nsegs && g->gs == nsegs; i++)
    if (ohets__seg_is(x, &x->segs[i], "GS"))
      g->gs = i;
  if (g->gs == nsegs)
    return;
  for (size_t i = g->gs + 1; i < nsegs; i++) {
    const ohets__seg *s = &x->segs[i];
    if (ohets__seg_is(x, s, "GE")) {
      g->ge = g->end = i;
      break;
    }
    if (ohets__seg_is(x, s, "GS") || ohets__seg_is(x, s, "IEA")) {
      g->end = i;
      break;
    }
    if (ohets__seg_is(x, s, "ST")) {
      g->received++;
      if (g->first_st == nsegs)
        g->first_st = i;
      else if (g->second_st == nsegs)
        g->second_st = i;
    } else if (g->first_st == nsegs) {
      g->stray_before_st = 1;
    }
  }
  for (size_t i = (g->ge < nsegs ? g->ge : g->end); i < nsegs; i++)
    if (i > g->gs && ohets__seg_is(x, &x->segs[i], "GS")) {
      g->next_gs = i;
      break;
    }
}

/* The group header and trailer (AK905 codes). */
typedef struct group_check {
  int supported;    /* a group of 270s this validator reads (GS01, GS08) */
  int ok;           /* no AK905 code and nothing before the first ST */
  char ak905[5][4];
  unsigned n_ak905;
  long ge01;        /* GE01, -1 when there is no GE */
} group_check;

static void check_group(const ohets__x12 *x, const group_map *g, group_check *c) {
  c->supported = c->ok = 0;
  c->n_ak905 = 0;
  c->ge01 = -1;
  if (g->gs == g->nsegs)
    return;
  c->supported = 1;
  const ohets__seg *gs = &x->segs[g->gs];
  size_t n;
  const char *v;
  if (!ohets__el_eq(x, gs, 1, "HS")) {
    push_code(c->ak905, &c->n_ak905, "1"); /* functional group not supported */
    c->supported = 0;
  }
  if (!ohets__el_eq(x, gs, 8, IG_VERSION) || !ohets__el_eq(x, gs, 7, "X")) {
    push_code(c->ak905, &c->n_ak905, "2"); /* functional group version not supported */
    c->supported = 0;
  }
  ohets_date d;
  v = ohets__el(x, gs, 4, &n);
  int bad_date = ohets_date_parse_d8(v, n, &d) != 0;
  v = ohets__el(x, gs, 5, &n);
  /* X231A1 has no AK905 code for a bad GS date or time; the group can't
   * be processed, so it is reported as not supported. */
  if (bad_date || !valid_time(v, n))
    push_code(c->ak905, &c->n_ak905, "1");
  v = ohets__el(x, gs, 6, &n);
  if (small_number(v, n) < 0)
    push_code(c->ak905, &c->n_ak905, "6"); /* group control number violates syntax */
  if (g->ge == g->nsegs) {
    push_code(c->ak905, &c->n_ak905, "3");
  } else {
    const ohets__seg *e = &x->segs[g->ge];
    v = ohets__el(x, e, 1, &n);
    c->ge01 = small_number(v, n);
    if (c->ge01 != (long)g->received)
      push_code(c->ak905, &c->n_ak905, "5");
    size_t n6;
    const char *v6 = ohets__el(x, gs, 6, &n6);
    v = ohets__el(x, e, 2, &n);
    if (n != n6 || memcmp(v, v6, n) != 0)
      push_code(c->ak905, &c->n_ak905, "4");
  }
  c->ok = c->n_ak905 == 0 && !g->stray_before_st;
}

/* Where the set starting at st ends: just after its SE (*has_se = 1), or
 * at the next boundary segment, or at the group's end. */
static size_t set_end(const ohets__x12 *x, size_t st, size_t group_end, int *has_se) {
  *has_se = 0;
  for (size_t k = st + 1; k < group_end; k++) {
    if (ohets__seg_is(x, &x->segs[k], "SE")) {
      *has_se = 1;
      return k + 1;
    }
    if (is_boundary(x, &x->segs[k]))
      return k;
  }
  return group_end;
}

/* The 999's AK1 and group codes, and the counts it knows so far. */
static void ack_group(ohets__ack *ack, const ohets__x12 *x, const group_map *g,
                      const group_check *c) {
  ohets__ack_clear(ack);
  if (g->gs < g->nsegs) {
    const ohets__seg *gs = &x->segs[g->gs];
    ohets__el_copy(x, gs, 1, ack->gs01, sizeof ack->gs01);
    ohets__el_copy(x, gs, 6, ack->gs06, sizeof ack->gs06);
    ohets__el_copy(x, gs, 8, ack->gs08, sizeof ack->gs08);
  }
  for (unsigned i = 0; i < c->n_ak905; i++)
    add_ak905(ack, c->ak905[i]);
  ack->ak903 = g->received;
  ack->ak902 = c->ge01 >= 0 ? (unsigned)c->ge01 : g->received;
}

/* The 999's sets: the first one (checked already) with what follows its
 * SE (a stray segment, the extra ST or GS of a batch), then an AK2 for
 * every further set, its ST first: it exceeds the one set a HETS group may
 * hold. */
static void ack_sets(ohets__ack *ack, const ohets__x12 *x, const ohets__env *env,
                     const group_map *g, const ohets__ack_set *first,
                     size_t first_end, vstate *vs) {
  ack->set[0] = *first;
  ack->n_set = 1;
  uint32_t st_ord = x->segs[g->first_st].ordinal;
  size_t stray_end = g->second_st < g->end ? g->second_st : g->end;
  for (size_t i = first_end; i < stray_end; i++)
    set_extra_error(&ack->set[0], x, st_ord, &x->segs[i], "2");
  if (g->second_st < g->nsegs)
    set_extra_error(&ack->set[0], x, st_ord, &x->segs[g->second_st], "5");
  else if (g->next_gs < g->nsegs)
    set_extra_error(&ack->set[0], x, st_ord, &x->segs[g->next_gs], "5");
  size_t i = first_end;
  uint32_t prev_st = st_ord;
  while (i < g->end && ack->n_set < OHETS__MAX_ACK_SETS) {
    if (!ohets__seg_is(x, &x->segs[i], "ST")) {
      if (i >= stray_end) /* strays after the first set are done above */
        set_extra_error(&ack->set[ack->n_set - 1], x, prev_st, &x->segs[i], "2");
      i++;
      continue;
    }
    int has_se;
    size_t end = set_end(x, i, g->end, &has_se);
    validate_set(x, env, i, end, has_se, "5", &ack->set[ack->n_set++], NULL, vs);
    prev_st = x->segs[i].ordinal;
    i = end;
  }
}

/* AK9: accepted sets and the group's verdict. */
static void ack_verdict(ohets__ack *ack, unsigned received, int group_ok) {
  unsigned accepted = 0;
  for (unsigned i = 0; i < ack->n_set; i++)
    accepted += ack->set[i].ik501 == 'A';
  ack->ak904 = accepted;
  if (ack->n_ak905 > 0 || accepted == 0 || !group_ok)
    ack->ak901 = 'R';
  else if (accepted < received)
    ack->ak901 = 'P';
  else
    ack->ak901 = 'A';
}

int ohets__validate_270(const ohets__x12 *x, const ohets__env *env,
                        ohets__270 *req, ohets__ack *ack) {
  if (x == NULL || env == NULL || req == NULL || ack == NULL || x->segs == NULL)
    return -EINVAL;
  group_map g;
  group_check c;
  map_group(x, &g);
  check_group(x, &g, &c);

  /* The first set, checked into a local ack so a clean request leaves the
   * caller's ack untouched. */
  ohets__ack_set first;
  vstate vs;
  size_t first_end = g.end;
  int has_sets = c.supported && g.first_st < g.nsegs;
  if (has_sets) {
    int has_se;
    first_end = set_end(x, g.first_st, g.end, &has_se);
    validate_set(x, env, g.first_st, first_end, has_se, NULL, &first, req, &vs);
    /* Accepted: one group, one set, nothing after its SE. */
    if (c.ok && g.received == 1 && g.next_gs == g.nsegs && first.ik501 == 'A' &&
        first_end == g.end)
      return 0;
  }

  /* A 999 answers. */
  ack_group(ack, x, &g, &c);
  if (has_sets)
    ack_sets(ack, x, env, &g, &first, first_end, &vs);
  ack_verdict(ack, g.received, c.ok);
  return 1;
}
