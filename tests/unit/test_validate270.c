/* The 270 validator (GS..GE, 005010X279A1 -> 999 content) and the 999
 * writer.  Each case is an interchange (a sample, or the base request with
 * a few text edits) and the 999 content it must produce. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/req270.h"

#define ISA_STD                                                              \
  "ISA*00*          *00*          *ZZ*SUBMITTER01    *ZZ*CMS            "   \
  "*260412*1200*^*00501*000000001*0*T*:~\n"
#define IEA_STD "IEA*1*000000001~\n"

/* A HETS-style subscriber inquiry: the segment positions from ST are
 * ST 1, BHT 2, HL 3, NM1 4, HL 5, NM1 6, HL 7, TRN 8, NM1 9, DMG 10,
 * DTP 11, EQ 12, SE 13. */
#define MBI "1EG4TE5MK73"
#define BASE_BODY                                                            \
  "GS*HS*SUBMITTER01*CMS*20260412*1200*1*X*005010X279A1~\n"                 \
  "ST*270*0001*005010X279A1~\n"                                             \
  "BHT*0022*13*REF123*20260412*1200~\n"                                     \
  "HL*1**20*1~\n"                                                            \
  "NM1*PR*2*CMS*****PI*CMS~\n"                                              \
  "HL*2*1*21*1~\n"                                                           \
  "NM1*1P*2*EXAMPLE CLINIC*****XX*1234567893~\n"                            \
  "HL*3*2*22*0~\n"                                                           \
  "TRN*1*TRACE0001*9877281234~\n"                                           \
  "NM1*IL*1*DOE*JANE****MI*" MBI "~\n"                                      \
  "DMG*D8*19400101*F~\n"                                                     \
  "DTP*291*D8*20260412~\n"                                                   \
  "EQ*30^42~\n"                                                              \
  "SE*13*0001~\n"                                                            \
  "GE*1*1~\n"
static const char base[] = ISA_STD BASE_BODY IEA_STD;

/* Public samples (x12-samples/270, see its INDEX.md), embedded as sent. */
static const char sample01[] =
    "ISA*00*          *00*          *ZZ*123456789012345*ZZ*123456789012346*"
    "080503*1705*>*00501*000010216*0*T*:~GS*HS*1234567890*1234567890*"
    "20080503*1705*20213*X*005010X279A1~ST*270*1234*005010X279A1~BHT*0022*13*"
    "10001234*20060501*1319~HL*1**20*1~NM1*PR*2*ABC COMPANY*****PI*842610001~"
    "HL*2*1*21*1~NM1*1P*2*BONE AND JOINT CLINIC*****SV*2000035~HL*3*2*22*0~"
    "TRN*1*93175-012547*9877281234~NM1*IL*1*SMITH*ROBERT****MI*11122333301~"
    "DMG*D8*19430519~DTP*291*D8*20060501~EQ*30~SE*13*1234~GE*1*20213~"
    "IEA*1*000010216~";

static const char sample02[] =
    "ISA*00*          *00*          *ZZ*123456789012345*ZZ*123456789012346*"
    "080503*1705*>*00501*000010216*0*T*:~GS*HS*1234567890*1234567890*"
    "20080503*1705*20213*X*005010X279A1~ST*270*1235*005010X279A1~BHT*0022*13*"
    "10001235*20060501*1320~HL*1**20*1~NM1*PR*2*ABC COMPANY*****PI*842610001~"
    "HL*2*1*21*1~NM1*1P*1*JONES*MARCUS****SV*0202034~HL*3*2*22*1~"
    "NM1*IL*1******MI*11122333301~HL*4*3*23*0~TRN*1*93175-012547*9877281234~"
    "NM1*03*1*SMITH*MARY~DMG*D8*19781014~DTP*291*D8*20060501~EQ*30~"
    "SE*15*1235~GE*1*20213~IEA*1*000010216~";

static const char sample03[] =
    "ISA*03*9876543210*01*9876543210*30*000000005      *30*12345          *"
    "131031*1147*^*00501*000000907*1*T*:~\n"
    "GS*HS*000000005*54321*20131031*1147*1*X*005010X279A1~\n"
    "ST*270*1234*005010X279A1~\nBHT*0022*13*10001234*20060501*1319~\n"
    "HL*1**20*1~\nNM1*PR*2*ABC COMPANY*****PI*842610001~\nHL*2*1*21*1~\n"
    "NM1*1P*2*BONE AND JOINT CLINIC*****SV*2000035~\nHL*3*2*22*0~\n"
    "TRN*1*93175-012547*9877281234~\n"
    "NM1*IL*1*SMITH*ROBERT****MI*11122333301~\nDMG*D8*19430519~\n"
    "DTP*291*D8*20060501~\nEQ*30~\nSE*13*1234~\nGE*1*1~\nIEA*1*000000907~";

#define KARTIK_ISA(time, ctl)                                                \
  "ISA*00*          *00*          *ZZ*ACMEHOMEHLTH   *ZZ*DCMEDICAID     *"  \
  "260412*" time "*^*00501*" ctl "*0*T*:~\n"
#define KARTIK_SET(st02, bht03, time, trace, first, id, dob, sex)           \
  "ST*270*" st02 "*005010X279A1~\nBHT*0022*13*" bht03 "*20260412*" time     \
  "~\nHL*1**20*1~\nNM1*PR*2*DC MEDICAID*****PI*DCMEDICAID~\nHL*2*1*21*1~\n" \
  "NM1*1P*2*ACME HOME HEALTH*****XX*1234567893~\nHL*3*2*22*0~\n"            \
  "TRN*1*" trace "*9877281234~\nNM1*IL*1*DOE*" first "****MI*" id "~\n"    \
  "DMG*D8*" dob "*" sex "~\nDTP*291*D8*20260412~\nEQ*30~\nSE*13*" st02 "~\n"

static const char sample05[] =
    KARTIK_ISA("1200", "000000001")
    "GS*HS*ACMEHOMEHLTH*DCMEDICAID*20260412*1200*1*X*005010X279A1~\n"
    KARTIK_SET("0001", "10001234", "1200", "TRACE0001", "PATIENT",
               "000123450", "19900101", "F")
    "GE*1*1~\nIEA*1*000000001~\n";

static const char sample06[] =
    KARTIK_ISA("1205", "000000002")
    "GS*HS*ACMEHOMEHLTH*DCMEDICAID*20260412*1205*2*X*005010X279A1~\n"
    KARTIK_SET("0001", "10001234", "1205", "TRACE0001", "PATIENT",
               "000123450", "19900101", "F")
    KARTIK_SET("0002", "10001235", "1206", "TRACE0002", "JANE",
               "000123451", "19881231", "F")
    "GE*2*2~\nIEA*1*000000002~\n";

static const char sample07[] =
    "ISA|00|          |00|          |ZZ|ACMEHOMEHLTH   |ZZ|DCMEDICAID     "
    "|260412|1230|~|00501|000000006|0|T|:!\n"
    "GS|HS|ACMEHOMEHLTH|DCMEDICAID|20260412|1230|6|X|005010X279A1!\n"
    "ST|270|0001|005010X279A1!\nBHT|0022|13|10001236|20260412|1230!\n"
    "HL|1||20|1!\nNM1|PR|2|DC MEDICAID|||||PI|DCMEDICAID!\nHL|2|1|21|1!\n"
    "NM1|1P|2|ACME HOME HEALTH|||||XX|1234567893!\nHL|3|2|22|0!\n"
    "TRN|1|TRACE0003|9877281234!\nNM1|IL|1|DOE|CUSTOM||||MI|000123453!\n"
    "DMG|D8|19920202|F!\nDTP|291|D8|20260412!\nEQ|30!\nSE|13|0001!\nGE|1|6!\n"
    "IEA|1|000000006!\n";

static const char sample08[] =
    KARTIK_ISA("1235", "000000008")
    "GS*HS*ACMEHOMEHLTH*DCMEDICAID*20260412*1235*8*X*005010X279A1~\n"
    KARTIK_SET("0001", "10001237", "1235", "TRACE0004", "ALPHA",
               "000123454", "19800101", "F")
    "ST*270*0002*005010X279A1~\nBHT*0022*13*10001238*20260412*1236~\n"
    "HL*1**20*1~\nNM1*PR*2*DC MEDICAID*****PI*DCMEDICAID~\nHL*2*1*21*1~\n"
    "NM1*1P*2*ACME HOME HEALTH*****XX*1234567893~\nHL*3*2*22*0~\n"
    "TRN*1*TRACE0005*9877281234~\nNM1*IL*9*DOE*BROKEN****MI*000123455~\n"
    "DMG*D8*19810101*M~\nDTP*291*D8*20260412~\nEQ*30~\nSE*13*0002~\n"
    KARTIK_SET("0003", "10001239", "1237", "TRACE0006", "OMEGA",
               "000123456", "19820101", "F")
    "GE*3*8~\nIEA*1*000000008~\n";

/* 13 as published: GS01 HC, only 2000A, SE*13 over 5 segments. */
static const char sample13[] =
    "ISA*00*          *00*          *ZZ*1234567        *ZZ*11111          *"
    "170508*1141*^*00501*000000101*1*P*:~\n"
    "GS*HC*XXXXXXX*XXXXX*20170617*1741*101*X*005010X279A1~\n"
    "ST*270*1234*005010X279A1~\nBHT*0022*13*10001234*20060501*1319~\n"
    "HL*1**20*1~\nNM1*PR*2*ABC COMPANY*****PI*842610001~\nSE*13*1234~\n"
    "GE*1*101~\nIEA*1*000000101~";

/* ------------------------------------------------------------------ */
/* The case table.                                                     */

typedef struct exp_err {
  const char *seg; /* IK301; NULL ends the list */
  unsigned pos;    /* IK302 */
  const char *loop;
  const char *ik304;
  unsigned elem;     /* IK401-1, 0 = no IK4 */
  unsigned rep;      /* IK401-3 */
  const char *ik403;
} exp_err;

#define MAX_EDITS 3

typedef struct vcase {
  const char *name;
  const char *text;             /* the interchange before edits */
  const char *edit[MAX_EDITS][2]; /* replace first [0] with [1], in order */
  int rc;                       /* 0 accepted, 1 a 999 */
  char ak901;
  const char *ak905;            /* AK905 codes, space-separated */
  unsigned n_set;               /* AK2 loops */
  const char *ik502;            /* first set's IK502 codes */
  exp_err err[8];               /* first set's errors, in order */
  const char *ik502_2;          /* second set's, when n_set > 1 */
  exp_err err2[4];
} vcase;

#define ED(a, b) {a, b}
static const char long_name[] =
    "VERYLONGSURNAMEFORTESTINGTHEMAXIMUMLENGTHOFTHENAMEELEMENTXYZW";

static const vcase cases[] = {
    /* Accepted. */
    {"base", base, {{0}}, 0, 0, "", 0, "", {{0}}, NULL, {{0}}},
    {"sample 01 (ISA11 >)", sample01, {{0}}, 0, 0, "", 0, "", {{0}}, NULL, {{0}}},
    {"sample 03 (newlines)", sample03, {{0}}, 0, 0, "", 0, "", {{0}}, NULL, {{0}}},
    {"sample 05", sample05, {{0}}, 0, 0, "", 0, "", {{0}}, NULL, {{0}}},
    {"sample 07 (custom delimiters)", sample07, {{0}}, 0, 0, "", 0, "", {{0}},
     NULL, {{0}}},
    {"RD8 range", base, {ED("DTP*291*D8*20260412", "DTP*291*RD8*20260401-20260412")},
     0, 0, "", 0, "", {{0}}, NULL, {{0}}},
    {"2100B REF N3 N4 PRV, 2110C DTP",
     base,
     {ED("XX*1234567893~\n", "XX*1234567893~\nREF*TJ*123456789~\nN3*1 MAIN ST~\n"
                              "N4*BALTIMORE*MD*21244~\nPRV*PE*PXC*207Q00000X~\n"),
      ED("DTP*291*D8*20260412~\nEQ*30^42~\n", "EQ*30^42~\nDTP*291*D8*20260412~\n"),
      ED("SE*13", "SE*17")},
     0, 0, "", 0, "", {{0}}, NULL, {{0}}},

    /* Batches and truncation. */
    {"sample 06: two ST", sample06, {{0}}, 1, 'R', "", 2, "5",
     {{"ST", 14, "", "5", 0, 0, NULL}}, "5", {{"ST", 1, "", "5", 0, 0, NULL}}},
    {"sample 08: three ST, one bad", sample08, {{0}}, 1, 'R', "", 3, "5",
     {{"ST", 14, "", "5", 0, 0, NULL}}, "5",
     {{"ST", 1, "", "5", 0, 0, NULL}, {"NM1", 9, "2100C", "8", 2, 0, "7"}}},
    {"second GS", base, {ED("GE*1*1~\n", "GE*1*1~\nGS*HS*SUBMITTER01*CMS*20260412*1200*2*X*"
                                         "005010X279A1~\nGE*0*2~\n")},
     1, 'R', "", 1, "5", {{"GS", 15, "", "5", 0, 0, NULL}}, NULL, {{0}}},
    {"second 2000C", base,
     {ED("EQ*30^42~\n", "EQ*30^42~\nHL*4*2*22*0~\nNM1*IL*1*ROE*RICHARD****MI*"
                        "2EG4TE5MK73~\nEQ*30~\n"),
      ED("SE*13", "SE*16")},
     1, 'R', "", 1, "5", {{"HL", 13, "2000C", "5", 0, 0, NULL}}, NULL, {{0}}},
    {"2000D dependent (sample 02)", sample02, {{0}}, 1, 'R', "", 1, "5",
     {{"EQ", 9, "2110C", "3", 0, 0, NULL}, {"HL", 9, "2000D", "I4", 0, 0, NULL}},
     NULL, {{0}}},
    {"sample 13 as published (GS01 HC)", sample13, {{0}}, 1, 'R', "1", 0, "",
     {{0}}, NULL, {{0}}},
    {"sample 13 truncated body", sample13, {ED("GS*HC", "GS*HS")}, 1, 'R', "", 1,
     "5 4", {{"HL", 5, "2000B", "3", 0, 0, NULL}}, NULL, {{0}}},
    {"SE missing", base, {ED("SE*13*0001~\n", "")}, 1, 'R', "", 1, "2", {{0}},
     NULL, {{0}}},

    /* GS / GE. */
    {"GS01 not HS", base, {ED("GS*HS", "GS*HC")}, 1, 'R', "1", 0, "", {{0}}, NULL, {{0}}},
    {"GS08 not X279A1", base, {ED("X*005010X279A1~\nST", "X*005010X279~\nST")},
     1, 'R', "2", 0, "", {{0}}, NULL, {{0}}},
    {"GS07 not X", base, {ED("*1*X*", "*1*T*")}, 1, 'R', "2", 0, "", {{0}}, NULL, {{0}}},
    {"GS04 bad date", base, {ED("CMS*20260412*1200*1", "CMS*20261332*1200*1")},
     1, 'R', "1", 1, "", {{0}}, NULL, {{0}}},
    {"GS05 bad time", base, {ED("CMS*20260412*1200*1", "CMS*20260412*2561*1")},
     1, 'R', "1", 1, "", {{0}}, NULL, {{0}}},
    {"GS06 not numeric", base, {ED("*1200*1*X", "*1200*A1*X"), ED("GE*1*1", "GE*1*A1")},
     1, 'R', "6", 1, "", {{0}}, NULL, {{0}}},
    {"GE01 wrong", base, {ED("GE*1*1", "GE*2*1")}, 1, 'R', "5", 1, "", {{0}}, NULL, {{0}}},
    {"GE02 wrong", base, {ED("GE*1*1", "GE*1*9")}, 1, 'R', "4", 1, "", {{0}}, NULL, {{0}}},
    {"GE missing", base, {ED("GE*1*1~\n", "")}, 1, 'R', "3", 1, "", {{0}}, NULL, {{0}}},

    /* ST / SE. */
    {"ST01 not 270", base, {ED("ST*270", "ST*271")}, 1, 'R', "", 1, "1", {{0}}, NULL, {{0}}},
    {"ST02 too short", base, {ED("ST*270*0001", "ST*270*001"), ED("SE*13*0001", "SE*13*001")},
     1, 'R', "", 1, "5", {{"ST", 1, "", "8", 2, 0, "4"}, {"SE", 13, "", "8", 2, 0, "4"}},
     NULL, {{0}}},
    {"ST03 not X279A1", base, {ED("ST*270*0001*005010X279A1", "ST*270*0001*005010X279")},
     1, 'R', "", 1, "I6", {{0}}, NULL, {{0}}},
    {"SE01 wrong count", base, {ED("SE*13", "SE*12")}, 1, 'R', "", 1, "4", {{0}}, NULL, {{0}}},
    {"SE02 not ST02", base, {ED("SE*13*0001", "SE*13*0002")}, 1, 'R', "", 1, "3",
     {{0}}, NULL, {{0}}},

    /* The 270 body. */
    {"2100C NM1 missing", base, {ED("NM1*IL*1*DOE*JANE****MI*" MBI "~\n", ""), ED("SE*13", "SE*12")},
     1, 'R', "", 1, "5", {{"NM1", 9, "2100C", "3", 0, 0, NULL}}, NULL, {{0}}},
    {"HL03 invalid", base, {ED("HL*3*2*22*0", "HL*3*2*99*0")}, 1, 'R', "", 1, "5",
     {{"HL", 7, "2000C", "8", 3, 0, "7"}}, NULL, {{0}}},
    {"HL01 out of sequence", base, {ED("HL*3*2*22*0", "HL*4*2*22*0")}, 1, 'R', "", 1,
     "5", {{"HL", 7, "2000C", "8", 1, 0, "I12"}}, NULL, {{0}}},
    {"HL02 wrong parent", base, {ED("HL*3*2*22*0", "HL*3*1*22*0")}, 1, 'R', "", 1,
     "5", {{"HL", 7, "2000C", "8", 2, 0, "I12"}}, NULL, {{0}}},
    {"DTP03 invalid date", base, {ED("DTP*291*D8*20260412", "DTP*291*D8*20261332")},
     1, 'R', "", 1, "5", {{"DTP", 11, "2100C", "8", 3, 0, "8"}}, NULL, {{0}}},
    /* A reversed range is well formed: HETS answers it with AAA 57. */
    {"RD8 end before start passes", base,
     {ED("DTP*291*D8*20260412", "DTP*291*RD8*20260412-20260401")}, 0, 0, "", 0,
     "", {{0}}, NULL, {{0}}},
    {"RD8 end not a date", base,
     {ED("DTP*291*D8*20260412", "DTP*291*RD8*20260412-20260231")}, 1, 'R', "", 1,
     "5", {{"DTP", 11, "2100C", "8", 3, 0, "8"}}, NULL, {{0}}},
    {"DTP01 bad qualifier", base, {ED("DTP*291", "DTP*472")}, 1, 'R', "", 1, "5",
     {{"DTP", 11, "2100C", "8", 1, 0, "7"}}, NULL, {{0}}},
    {"EQ01 bad code", base, {ED("EQ*30^42", "EQ*30^ZZ")}, 1, 'R', "", 1, "5",
     {{"EQ", 12, "2110C", "8", 1, 2, "7"}}, NULL, {{0}}},
    {"EQ without EQ01 or EQ02", base, {ED("EQ*30^42", "EQ***IND")}, 1, 'R', "", 1, "5",
     {{"EQ", 12, "2110C", "8", 1, 0, "2"}}, NULL, {{0}}},
    {"DMG03 bad code", base, {ED("DMG*D8*19400101*F", "DMG*D8*19400101*X")}, 1, 'R',
     "", 1, "5", {{"DMG", 10, "2100C", "8", 3, 0, "7"}}, NULL, {{0}}},
    {"BHT05 bad time", base, {ED("REF123*20260412*1200", "REF123*20260412*1299")}, 1,
     'R', "", 1, "5", {{"BHT", 2, "", "8", 5, 0, "9"}}, NULL, {{0}}},
    {"TRN03 too short", base, {ED("TRACE0001*9877281234", "TRACE0001*98772")}, 1,
     'R', "", 1, "5", {{"TRN", 8, "2000C", "8", 3, 0, "4"}}, NULL, {{0}}},
    {"not used element", base, {ED("NM1*PR*2*CMS*****PI*CMS", "NM1*PR*2*CMS*****PI*CMS*X")},
     1, 'R', "", 1, "5", {{"NM1", 4, "2100A", "8", 10, 0, "I10"}}, NULL, {{0}}},
    {"too many elements", base, {ED("DTP*291*D8*20260412", "DTP*291*D8*20260412*X")},
     1, 'R', "", 1, "5", {{"DTP", 11, "2100C", "8", 4, 0, "3"}}, NULL, {{0}}},
    {"required element missing", base, {ED("NM1*1P*2", "NM1*1P*")}, 1, 'R', "", 1,
     "5", {{"NM1", 6, "2100B", "8", 2, 0, "1"}}, NULL, {{0}}},
    {"segment out of order", base,
     {ED("DMG*D8*19400101*F~\nDTP*291*D8*20260412~\n",
         "DTP*291*D8*20260412~\nDMG*D8*19400101*F~\n")},
     1, 'R', "", 1, "5", {{"DMG", 11, "2100C", "7", 0, 0, NULL}}, NULL, {{0}}},
    {"unknown segment id", base, {ED("DMG*D8", "ZZZ*1~\nDMG*D8"), ED("SE*13", "SE*14")},
     1, 'R', "", 1, "5", {{"ZZZ", 10, "2100C", "1", 0, 0, NULL}}, NULL, {{0}}},
    {"segment of another transaction set", base,
     {ED("DMG*D8", "CLM*1~\nDMG*D8"), ED("SE*13", "SE*14")}, 1, 'R', "", 1, "5",
     {{"CLM", 10, "2100C", "6", 0, 0, NULL}}, NULL, {{0}}},
    {"too many TRN", base,
     {ED("TRN*1*TRACE0001*9877281234~\n",
         "TRN*1*TRACE0001*9877281234~\nTRN*1*TRACE0002*9877281234~\n"
         "TRN*1*TRACE0003*9877281234~\n"),
      ED("SE*13", "SE*15")},
     1, 'R', "", 1, "5", {{"TRN", 10, "2000C", "5", 0, 0, NULL}}, NULL, {{0}}},
    {"2100A NM1 twice", base,
     {ED("NM1*PR*2*CMS*****PI*CMS~\n", "NM1*PR*2*CMS*****PI*CMS~\nNM1*PR*2*CMS*****PI*CMS~\n"),
      ED("SE*13", "SE*14")},
     1, 'R', "", 1, "5", {{"NM1", 5, "2100A", "4", 0, 0, NULL}}, NULL, {{0}}},
    {"BHT missing", base, {ED("BHT*0022*13*REF123*20260412*1200~\n", ""), ED("SE*13", "SE*12")},
     1, 'R', "", 1, "5", {{"BHT", 2, "", "3", 0, 0, NULL}}, NULL, {{0}}},
    {"NM109 without NM108", base, {ED("****MI*" MBI, "*****" MBI)}, 1, 'R', "", 1, "5",
     {{"NM1", 9, "2100C", "8", 8, 0, "2"}}, NULL, {{0}}},
    {"stray segment after SE", base, {ED("SE*13*0001~\n", "SE*13*0001~\nDMG*D8*19400101~\n")},
     1, 'R', "", 1, "5", {{"DMG", 14, "", "2", 0, 0, NULL}}, NULL, {{0}}},
};

/* ------------------------------------------------------------------ */
/* Helpers.                                                            */

static void apply_edits(const vcase *c, char *out, size_t size) {
  snprintf(out, size, "%s", c->text);
  for (int i = 0; i < MAX_EDITS && c->edit[i][0] != NULL; i++) {
    char *at = strstr(out, c->edit[i][0]);
    ck_assert_msg(at != NULL, "%s: edit %d does not apply", c->name, i);
    size_t from = strlen(c->edit[i][0]), to = strlen(c->edit[i][1]);
    size_t tail = strlen(at + from);
    ck_assert_uint_lt(strlen(out) - from + to, size);
    memmove(at + to, at + from, tail + 1);
    memcpy(at, c->edit[i][1], to);
  }
}

static void make_env(const ohets__x12 *x, ohets__env *env) {
  memset(env, 0, sizeof *env);
  env->d = x->d;
  snprintf(env->isa06, sizeof env->isa06, "SUBMITTER01");
  snprintf(env->isa08, sizeof env->isa08, "CMS");
  snprintf(env->gs02, sizeof env->gs02, "SUBMITTER01");
  snprintf(env->gs03, sizeof env->gs03, "CMS");
  snprintf(env->gs06, sizeof env->gs06, "1");
}

static int run(const char *text, ohets__x12 *x, ohets__env *env,
               ohets__270 *req, ohets__ack *ack) {
  ck_assert_int_eq(ohets__x12_parse(x, text, strlen(text)), 0);
  make_env(x, env);
  return ohets__validate_270(x, env, req, ack);
}

static void check_errors(const char *name, const ohets__ack_set *set,
                         const exp_err *want) {
  unsigned n = 0;
  while (n < 8 && want[n].seg != NULL)
    n++;
  for (unsigned i = 0; i < set->n_err && i < n; i++) {
    const ohets__ack_error *e = &set->err[i];
    ck_assert_msg(strcmp(e->seg_id, want[i].seg) == 0 && e->seg_pos == want[i].pos &&
                      strcmp(e->loop, want[i].loop) == 0 &&
                      strcmp(e->ik304, want[i].ik304) == 0,
                  "%s: error %u is IK3*%s*%u*%s*%s, want IK3*%s*%u*%s*%s", name, i,
                  e->seg_id, e->seg_pos, e->loop, e->ik304, want[i].seg,
                  want[i].pos, want[i].loop, want[i].ik304);
    ck_assert_msg(e->elem_pos == want[i].elem && e->rep_pos == want[i].rep,
                  "%s: error %u IK401 %u:%u:%u, want %u::%u", name, i,
                  e->elem_pos, e->comp_pos, e->rep_pos, want[i].elem,
                  want[i].rep);
    if (want[i].elem > 0)
      ck_assert_msg(strcmp(e->ik403, want[i].ik403) == 0,
                    "%s: error %u IK403 %s, want %s", name, i, e->ik403,
                    want[i].ik403);
  }
  ck_assert_msg(set->n_err == n, "%s: %u errors, want %u (first: IK3*%s*%u*%s*%s)",
                name, set->n_err, n, set->n_err ? set->err[0].seg_id : "",
                set->n_err ? set->err[0].seg_pos : 0,
                set->n_err ? set->err[0].loop : "",
                set->n_err ? set->err[0].ik304 : "");
}

static void join_codes(char *dst, size_t size, const char (*codes)[4],
                       unsigned n) {
  dst[0] = '\0';
  for (unsigned i = 0; i < n; i++) {
    size_t len = strlen(dst);
    snprintf(dst + len, size - len, "%s%s", i ? " " : "", codes[i]);
  }
}

/* ------------------------------------------------------------------ */
/* Tests.                                                              */

START_TEST(test_case) {
  const vcase *c = &cases[_i];
  static char text[8192];
  apply_edits(c, text, sizeof text);
  ohets__x12 x;
  ohets__env env;
  ohets__270 req;
  static ohets__ack ack;
  memset(&ack, 0x5a, sizeof ack);
  int rc = run(text, &x, &env, &req, &ack);
  if (c->rc == 0) {
    ck_assert_msg(rc == 0, "%s: rc %d (AK9 %c, set 1 errors %u, first IK3*%s*%u*%s*%s IK4 %u %s)",
                  c->name, rc, ack.ak901, ack.set[0].n_err, ack.set[0].err[0].seg_id,
                  ack.set[0].err[0].seg_pos, ack.set[0].err[0].loop,
                  ack.set[0].err[0].ik304, ack.set[0].err[0].elem_pos,
                  ack.set[0].err[0].ik403);
    /* An accepted request leaves the ack alone. */
    ck_assert_int_eq(((unsigned char *)&ack)[0], 0x5a);
    ck_assert_uint_ge(req.n_stc, 1);
    ck_assert_str_eq(req.sub_qual, "MI");
    ck_assert_uint_eq(req.n_trn, 1);
  } else {
    ck_assert_msg(rc == 1, "%s: rc %d, want 1", c->name, rc);
    ck_assert_msg(ack.ak901 == c->ak901, "%s: AK901 %c, want %c", c->name,
                  ack.ak901, c->ak901);
    char got[32];
    join_codes(got, sizeof got, ack.ak905, ack.n_ak905);
    ck_assert_msg(strcmp(got, c->ak905) == 0, "%s: AK905 '%s', want '%s'",
                  c->name, got, c->ak905);
    ck_assert_msg(ack.n_set == c->n_set, "%s: %u AK2, want %u", c->name,
                  ack.n_set, c->n_set);
    if (c->n_set > 0) {
      join_codes(got, sizeof got, ack.set[0].ik502, ack.set[0].n_ik502);
      ck_assert_msg(strcmp(got, c->ik502) == 0, "%s: IK502 '%s', want '%s'",
                    c->name, got, c->ik502);
      /* A group-level error leaves a good set accepted (AK9 R all the same). */
      ck_assert_int_eq(ack.set[0].ik501, c->ik502[0] ? 'R' : 'A');
      check_errors(c->name, &ack.set[0], c->err);
    }
    if (c->n_set > 1) {
      join_codes(got, sizeof got, ack.set[1].ik502, ack.set[1].n_ik502);
      ck_assert_msg(strcmp(got, c->ik502_2) == 0, "%s: set 2 IK502 '%s', want '%s'",
                    c->name, got, c->ik502_2);
      check_errors(c->name, &ack.set[1], c->err2);
    }
    unsigned accepted = 0;
    for (unsigned i = 0; i < ack.n_set; i++)
      accepted += ack.set[i].ik501 == 'A';
    ck_assert_uint_eq(ack.ak904, accepted);
    ck_assert_uint_eq(ack.ak903, c->n_set > 0 ? c->n_set : ack.ak903);
  }
  ohets__x12_free(&x);
}
END_TEST

START_TEST(test_request_fields) {
  ohets__x12 x;
  ohets__env env;
  ohets__270 req;
  static ohets__ack ack;
  static const char text[] = ISA_STD
      "GS*HS*SUBMITTER01*CMS*20260412*1200*1*X*005010X279A1~"
      "ST*270*0001*005010X279A1~BHT*0022*13*REF123*20260412*1200~HL*1**20*1~"
      "NM1*PR*2*CMS*****PI*CMS~HL*2*1*21*1~"
      "NM1*1P*1*WELBY*MARCUS****XX*1234567893~HL*3*2*22*0~"
      "TRN*1*TRACE0001*9877281234~TRN*1*TRACE0002*1234567890*DEPT~"
      "NM1*IL*1*DOE*JANE*Q**JR*MI*" MBI "~DMG*D8*19400101*F~"
      "EQ*30^42~DTP*291*RD8*20260101-20260412~EQ*45~DTP*291*D8*20260301~"
      "SE*16*0001~GE*1*1~" IEA_STD;
  ck_assert_int_eq(run(text, &x, &env, &req, &ack), 0);
  ck_assert_str_eq(req.st02, "0001");
  ck_assert_str_eq(req.bht03, "REF123");
  ck_assert_str_eq(req.payer_name, "CMS");
  ck_assert_str_eq(req.payer_qual, "PI");
  ck_assert_str_eq(req.payer_id, "CMS");
  ck_assert_str_eq(req.prov_entity, "1P");
  ck_assert_str_eq(req.prov_type, "1");
  ck_assert_str_eq(req.prov_last, "WELBY");
  ck_assert_str_eq(req.prov_first, "MARCUS");
  ck_assert_str_eq(req.prov_qual, "XX");
  ck_assert_str_eq(req.prov_id, "1234567893");
  ck_assert_uint_eq(req.n_trn, 2);
  ck_assert_str_eq(req.trn[1].ref, "TRACE0002");
  ck_assert_str_eq(req.trn[1].orig, "1234567890");
  ck_assert_str_eq(req.trn[1].supp, "DEPT");
  ck_assert_str_eq(req.sub_id, MBI);
  ck_assert_str_eq(req.sub_last, "DOE");
  ck_assert_str_eq(req.sub_first, "JANE");
  ck_assert_str_eq(req.sub_middle, "Q");
  ck_assert_str_eq(req.sub_suffix, "JR");
  ck_assert_int_eq(req.has_dmg, 1);
  ck_assert_str_eq(req.dob, "19400101");
  ck_assert_int_eq(req.sex, 'F');
  /* No DTP*291 in 2100C: the first 2110C's. */
  ck_assert_int_eq(req.has_dos, 1);
  ck_assert_str_eq(req.dos_fmt, "RD8");
  ck_assert_str_eq(req.dos, "20260101-20260412");
  ck_assert_uint_eq(req.n_stc, 3);
  ck_assert_str_eq(req.stc[0], "30");
  ck_assert_str_eq(req.stc[1], "42");
  ck_assert_str_eq(req.stc[2], "45");
  ohets__x12_free(&x);

  /* 2100C's DTP*291 wins over 2110C's. */
  static char t2[4096];
  snprintf(t2, sizeof t2, "%s", sample01);
  char *eq = strstr(t2, "EQ*30~");
  memmove(eq + 20, eq, strlen(eq) + 1);
  memcpy(eq, "EQ*30~DTP*291*D8*20060601~", 26);
  memmove(eq + 26, eq + 20 + 6, strlen(eq + 26) + 1);
  eq = strstr(t2, "SE*13");
  eq[4] = '4';
  ck_assert_int_eq(run(t2, &x, &env, &req, &ack), 0);
  ck_assert_str_eq(req.dos_fmt, "D8");
  ck_assert_str_eq(req.dos, "20060501");
  ck_assert_uint_eq(req.n_stc, 1);
  ohets__x12_free(&x);
}
END_TEST

START_TEST(test_repetition_separator_from_env) {
  /* Sample 01's ISA11 is '>': EQ*30>42 is two service types. */
  static char t[4096];
  snprintf(t, sizeof t, "%s", sample01);
  char *eq = strstr(t, "EQ*30~");
  memmove(eq + 3, eq, strlen(eq) + 1);
  memcpy(eq, "EQ*30>42~", 9);
  ohets__x12 x;
  ohets__env env;
  ohets__270 req;
  static ohets__ack ack;
  ck_assert_int_eq(run(t, &x, &env, &req, &ack), 0);
  ck_assert_uint_eq(req.n_stc, 2);
  ck_assert_str_eq(req.stc[1], "42");
  ohets__x12_free(&x);
}
END_TEST

static void write_999_text(const ohets__ack *ack, const ohets__delims *d,
                           ohets_buf *b) {
  ohets__w w;
  ohets__w_init(&w, b, *d);
  ohets__w_seg(&w, "GS", "FA", "CMS", "SUBMITTER01", "20260412", "1200", "7",
               "X", "005010X231A1", NULL);
  ohets__write_999(&w, ack, 7);
  ohets__w_seg(&w, "GE", "1", "7", NULL);
  ohets__w_seg(&w, "IEA", "1", "000000007", NULL);
  ck_assert_int_eq(w.err, 0);
  ck_assert_int_eq(ohets_buf_putc(b, '\0'), 0);
}

START_TEST(test_phi_never_in_999) {
  static char text[8192];
  snprintf(text, sizeof text, "%s", base);
  /* NM103 too long, NM109 too short, DMG02 not a date, N3 bad: each is
   * PHI and must be reported without its value. */
  char name_seg[256];
  snprintf(name_seg, sizeof name_seg, "NM1*IL*1*%s*JANE****MI*X~\nN3*12 ELM\x01~\n", long_name);
  char *at = strstr(text, "NM1*IL");
  char *end = strstr(at, "~\n") + 2;
  char rest[4096];
  snprintf(rest, sizeof rest, "%s", end);
  snprintf(at, sizeof text - (size_t)(at - text), "%s%s", name_seg, rest);
  at = strstr(text, "DMG*D8*19400101");
  memcpy(at, "DMG*D8*19401301", 15);
  at = strstr(text, "SE*13");
  memcpy(at, "SE*14", 5);

  ohets__x12 x;
  ohets__env env;
  ohets__270 req;
  static ohets__ack ack;
  ck_assert_int_eq(run(text, &x, &env, &req, &ack), 1);
  ck_assert_uint_eq(ack.set[0].n_err, 4);
  for (unsigned i = 0; i < ack.set[0].n_err; i++)
    ck_assert_str_eq(ack.set[0].err[i].bad, "");
  ck_assert_str_eq(ack.set[0].err[0].ik403, "5"); /* NM103 */
  ck_assert_str_eq(ack.set[0].err[1].ik403, "4"); /* NM109 */
  ck_assert_str_eq(ack.set[0].err[2].ik403, "6"); /* N301 */
  ck_assert_str_eq(ack.set[0].err[3].ik403, "8"); /* DMG02 */

  ohets_buf b;
  ohets_buf_init(&b, 65536);
  write_999_text(&ack, &x.d, &b);
  const char *out = (const char *)b.data;
  ck_assert_ptr_null(strstr(out, long_name));
  ck_assert_ptr_null(strstr(out, "VERYLONG"));
  ck_assert_ptr_null(strstr(out, "19401301"));
  ck_assert_ptr_null(strstr(out, "ELM"));
  ck_assert_ptr_nonnull(strstr(out, "IK4*3*1035*5~"));
  ck_assert_ptr_nonnull(strstr(out, "IK4*2*1251*8~"));
  ohets_buf_free(&b);
  ohets__x12_free(&x);

  /* A well-formed MBI next to an error never reaches the 999 either. */
  snprintf(text, sizeof text, "%s", base);
  at = strstr(text, "****MI*" MBI);
  memcpy(at, "*****", 5); /* NM108 dropped: "*****1EG4..." */
  memmove(at + 5, at + 7, strlen(at + 7) + 1);
  ck_assert_int_eq(run(text, &x, &env, &req, &ack), 1);
  ck_assert_str_eq(ack.set[0].err[0].ctx_seg, "NM1");
  ck_assert_uint_eq(ack.set[0].err[0].ctx_pos, 9);
  ck_assert_str_eq(ack.set[0].err[0].ctx_loop, "2100C");
  ck_assert_uint_eq(ack.set[0].err[0].ctx_elem, 9);
  ohets_buf_init(&b, 65536);
  write_999_text(&ack, &x.d, &b);
  out = (const char *)b.data;
  ck_assert_ptr_null(strstr(out, MBI));
  ck_assert_ptr_null(strstr(out, "DOE"));
  ck_assert_ptr_nonnull(
      strstr(out, "IK3*NM1*9*2100*8~IK4*8*66*2~CTX*SITUATIONAL TRIGGER*NM1*9*2100*9~"));
  ohets_buf_free(&b);
  ohets__x12_free(&x);
}
END_TEST

START_TEST(test_999_bytes) {
  static ohets__ack ack;
  memset(&ack, 0, sizeof ack);
  strcpy(ack.gs01, "HS");
  strcpy(ack.gs06, "1");
  strcpy(ack.gs08, "005010X279A1");
  ack.n_set = 1;
  ohets__ack_set *s = &ack.set[0];
  strcpy(s->st01, "270");
  strcpy(s->st02, "0001");
  strcpy(s->st03, "005010X279A1");
  s->ik501 = 'R';
  strcpy(s->ik502[0], "5");
  strcpy(s->ik502[1], "4");
  s->n_ik502 = 2;
  ohets__ack_error *e = s->err;
  e[0] = (ohets__ack_error){.seg_id = "DTP", .seg_pos = 11, .loop = "2100C",
                            .ik304 = "8", .elem_pos = 3, .elem_ref = 1251,
                            .ik403 = "8", .bad = "2026*13~32"};
  e[1] = (ohets__ack_error){.seg_id = "DTP", .seg_pos = 11, .loop = "2100C",
                            .ik304 = "8", .elem_pos = 1, .elem_ref = 374,
                            .ik403 = "7", .bad = "472"};
  e[2] = (ohets__ack_error){.seg_id = "NM1", .seg_pos = 9, .loop = "2100C",
                            .ik304 = "8", .elem_pos = 8, .elem_ref = 66,
                            .ik403 = "2", .ctx_seg = "NM1", .ctx_pos = 9,
                            .ctx_loop = "2100C", .ctx_elem = 9};
  e[3] = (ohets__ack_error){.seg_id = "EQ", .seg_pos = 12, .loop = "2110C",
                            .ik304 = "8", .elem_pos = 1, .rep_pos = 2,
                            .elem_ref = 1365, .ik403 = "7", .bad = "ZZ"};
  e[4] = (ohets__ack_error){.seg_id = "HI", .seg_pos = 13, .loop = "2100C",
                            .ik304 = "8", .elem_pos = 1, .comp_pos = 1,
                            .elem_ref = 1270, .ik403 = "7", .bad = "XX"};
  e[5] = (ohets__ack_error){.seg_id = "HL", .seg_pos = 5, .loop = "2000B",
                            .ik304 = "3"};
  s->n_err = 6;
  ack.ak901 = 'R';
  ack.ak902 = 1;
  ack.ak903 = 1;
  ack.ak904 = 0;
  strcpy(ack.ak905[0], "5");
  ack.n_ak905 = 1;

  ohets_buf b;
  ohets_buf_init(&b, 65536);
  ohets__delims d = {'*', '^', ':', '~'};
  ohets__w w;
  ohets__w_init(&w, &b, d);
  ohets__w_seg(&w, "GS", "FA", "CMS", "SUBMITTER01", "20260412", "1200", "7",
               "X", "005010X231A1", NULL);
  ohets__write_999(&w, &ack, 42);
  ck_assert_int_eq(w.err, 0);
  static const char want[] =
      "GS*FA*CMS*SUBMITTER01*20260412*1200*7*X*005010X231A1~"
      "ST*999*0042*005010X231A1~"
      "AK1*HS*1*005010X279A1~"
      "AK2*270*0001*005010X279A1~"
      "IK3*DTP*11*2100*8~"
      "IK4*3*1251*8*2026 13 32~"
      "IK4*1*374*7*472~"
      "IK3*NM1*9*2100*8~"
      "IK4*8*66*2~"
      "CTX*SITUATIONAL TRIGGER*NM1*9*2100*9~"
      "IK3*EQ*12*2110*8~"
      "IK4*1::2*1365*7*ZZ~"
      "IK3*HI*13*2100*8~"
      "IK4*1:1*1270*7*XX~"
      "IK3*HL*5*2000*3~"
      "IK5*R*5*4~"
      "AK9*R*1*1*0*5~"
      "SE*17*0042~";
  ck_assert_int_eq(ohets_buf_putc(&b, '\0'), 0);
  ck_assert_str_eq((const char *)b.data, want);
  ck_assert_uint_eq(w.count, 18); /* GS + 17 */
  ohets_buf_free(&b);
}
END_TEST

START_TEST(test_999_reparses) {
  /* A rejected request's 999, put in an interchange, reads back with the
   * X12 reader and its SE01 counts ST..SE. */
  static char text[8192];
  snprintf(text, sizeof text, "%s", sample07);
  char *at = strstr(text, "EQ|30");
  memcpy(at, "EQ|ZZ", 5);
  at = strstr(text, "DTP|291|D8|20260412");
  memcpy(at, "DTP|291|D8|20261332", 19);
  ohets__x12 x;
  ohets__env env;
  ohets__270 req;
  static ohets__ack ack;
  ck_assert_int_eq(run(text, &x, &env, &req, &ack), 1);
  ck_assert_uint_eq(ack.set[0].n_err, 2);

  ohets_buf b;
  ohets_buf_init(&b, 65536);
  static const char isa[] =
      "ISA|00|          |00|          |ZZ|CMS            |ZZ|ACMEHOMEHLTH   "
      "|260412|1230|~|00501|000000007|0|T|:!";
  ck_assert_int_eq(ohets_buf_append(&b, isa, strlen(isa)), 0);
  write_999_text(&ack, &x.d, &b);
  ohets__x12_free(&x);

  const char *out = (const char *)b.data;
  ck_assert_ptr_nonnull(strstr(out, "IK4|3|1251|8|20261332!"));
  ck_assert_ptr_nonnull(strstr(out, "IK4|1::1|1365|7|ZZ!"));
  ohets__x12 r;
  ck_assert_int_eq(ohets__x12_parse(&r, out, strlen(out)), 0);
  size_t st = r.nsegs, se = r.nsegs;
  for (size_t i = 0; i < r.nsegs; i++) {
    if (ohets__seg_is(&r, &r.segs[i], "ST"))
      st = i;
    if (ohets__seg_is(&r, &r.segs[i], "SE"))
      se = i;
  }
  ck_assert_uint_lt(st, se);
  ck_assert_uint_lt(se, r.nsegs);
  char count[12];
  ohets__el_copy(&r, &r.segs[se], 1, count, sizeof count);
  ck_assert_uint_eq((unsigned)atoi(count), se - st + 1);
  ck_assert(ohets__el_eq(&r, &r.segs[se], 2, "0007"));
  ck_assert(ohets__el_eq(&r, &r.segs[st], 2, "0007"));
  ck_assert(ohets__el_eq(&r, &r.segs[st + 1], 1, "HS"));
  ohets__x12_free(&r);
  ohets_buf_free(&b);
}
END_TEST

START_TEST(test_error_cap) {
  /* More errors than the ack holds: capped, still rejected. */
  static char text[16384];
  char refs[4096] = "";
  for (int i = 0; i < 30; i++)
    strcat(refs, "ZZZ*1~\n");
  snprintf(text, sizeof text, "%s", base);
  char *at = strstr(text, "DMG*D8");
  char rest[4096];
  snprintf(rest, sizeof rest, "%s", at);
  snprintf(at, sizeof text - (size_t)(at - text), "%s%s", refs, rest);
  ohets__x12 x;
  ohets__env env;
  ohets__270 req;
  static ohets__ack ack;
  ck_assert_int_eq(run(text, &x, &env, &req, &ack), 1);
  ck_assert_uint_eq(ack.set[0].n_err, OHETS__MAX_ACK_ERRORS);
  ck_assert_int_eq(ack.set[0].ik501, 'R');
  ck_assert_str_eq(ack.set[0].ik502[0], "5");
  ohets__x12_free(&x);
}
END_TEST

START_TEST(test_no_group) {
  static const char text[] = ISA_STD IEA_STD;
  ohets__x12 x;
  ohets__env env;
  ohets__270 req;
  static ohets__ack ack;
  ck_assert_int_eq(run(text, &x, &env, &req, &ack), 1);
  ck_assert_int_eq(ack.ak901, 'R');
  ck_assert_uint_eq(ack.n_set, 0);
  ohets__x12_free(&x);
}
END_TEST

static Suite *suite(void) {
  Suite *s = suite_create("validate270");
  TCase *tc = tcase_create("core");
  tcase_add_loop_test(tc, test_case, 0, (int)(sizeof cases / sizeof cases[0]));
  tcase_add_test(tc, test_request_fields);
  tcase_add_test(tc, test_repetition_separator_from_env);
  tcase_add_test(tc, test_phi_never_in_999);
  tcase_add_test(tc, test_999_bytes);
  tcase_add_test(tc, test_999_reparses);
  tcase_add_test(tc, test_error_cap);
  tcase_add_test(tc, test_no_group);
  suite_add_tcase(s, tc);
  return s;
}

int main(void) {
  SRunner *sr = srunner_create(suite());
  srunner_run_all(sr, CK_NORMAL);
  int failed = srunner_ntests_failed(sr);
  srunner_free(sr);
  return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
