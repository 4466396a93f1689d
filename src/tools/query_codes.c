/* X12 code lists hets-query puts into words.  Only the codes a HETS answer
 * can carry (and their close neighbours) are listed; anything else prints
 * as its bare code. */
#include <stddef.h>
#include <string.h>

#include "tools/query.h"

typedef struct code_text {
  const char *code;
  const char *text;
} code_text;

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char *find(const code_text *t, size_t n, const char *code) {
  if (code == NULL)
    return NULL;
  for (size_t i = 0; i < n; i++)
    if (strcmp(t[i].code, code) == 0)
      return t[i].text;
  return NULL;
}

/* AAA03, reject reason code (element 901). */
static const code_text AAA_REASON[] = {
    {"04", "authorized quantity exceeded"},
    {"15", "required application data missing"},
    {"41", "authorization/access restrictions"},
    {"42", "unable to respond at current time"},
    {"43", "invalid/missing provider identification"},
    {"44", "invalid/missing provider name"},
    {"45", "invalid/missing provider specialty"},
    {"46", "invalid/missing provider phone number"},
    {"47", "invalid/missing provider state"},
    {"48", "invalid/missing referring provider identification number"},
    {"49", "provider is not primary care physician"},
    {"50", "provider ineligible for inquiries"},
    {"51", "provider not on file"},
    {"52", "service dates not within provider plan enrollment"},
    {"53", "inquired benefit inconsistent with provider type"},
    {"54", "inappropriate product/service ID qualifier"},
    {"55", "inappropriate product/service ID"},
    {"56", "inappropriate date"},
    {"57", "invalid/missing date(s) of service"},
    {"58", "invalid/missing date of birth"},
    {"60", "date of birth follows date(s) of service"},
    {"61", "date of death precedes date(s) of service"},
    {"62", "date of service not within allowable inquiry period"},
    {"63", "date of service in future"},
    {"64", "invalid/missing patient ID"},
    {"65", "invalid/missing patient name"},
    {"66", "invalid/missing patient gender code"},
    {"67", "patient not found"},
    {"68", "duplicate patient ID number"},
    {"69", "inconsistent with patient's age"},
    {"70", "inconsistent with patient's gender"},
    {"71", "patient birth date does not match that for the patient on the database"},
    {"72", "invalid/missing subscriber/insured ID"},
    {"73", "invalid/missing subscriber/insured name"},
    {"74", "invalid/missing subscriber/insured gender code"},
    {"75", "subscriber/insured not found"},
    {"76", "duplicate subscriber/insured ID number"},
    {"77", "subscriber found, patient not found"},
    {"78", "subscriber/insured not in group/plan identified"},
    {"79", "invalid participant identification"},
    {"80", "no response received - transaction terminated"},
    {"97", "invalid or missing provider address"},
    {"98", "experimental service or procedure"},
    {"AA", "authorization number not found"},
    {"AE", "requires primary care physician authorization"},
    {"AF", "invalid/missing diagnosis code(s)"},
    {"AG", "invalid/missing procedure code(s)"},
    {"AO", "additional patient condition information required"},
    {"CI", "certification information does not match patient"},
    {"E8", "requires medical review"},
    {"IA", "invalid authorization number format"},
    {"MA", "missing authorization"},
    {"T4", "payer name or identifier missing"},
};

/* What a HETS submitter does about each reason openhets gives (DESIGN §5). */
static const code_text AAA_HINT[] = {
    {"41", "the NPI is not linked to this submitter ID: link it with CMS or send the linked NPI"},
    {"42", "HETS is busy or the eligibility data is unavailable: resend the same inquiry later"},
    {"43", "send the provider's 10-digit NPI (check digit must be valid)"},
    {"57", "send the date of service as CCYYMMDD or a CCYYMMDD-CCYYMMDD range"},
    {"58", "send the date of birth as a valid CCYYMMDD date"},
    {"62", "ask for dates no earlier than 4 years before and no later than 4 months after today"},
    {"71", "check the date of birth on the Medicare card or with the beneficiary"},
    {"72", "check the MBI on the Medicare card (11 characters; a replaced MBI is not accepted)"},
    {"73", "send the last and first name exactly as on the Medicare card"},
    {"75", "no beneficiary has this MBI: check it against the Medicare card"},
    {"79", "address the inquiry to CMS (NM1*PR ... PI*CMS)"},
};

/* AAA04, follow-up action code (element 889). */
static const code_text AAA_ACTION[] = {
    {"C", "please correct and resubmit"},
    {"N", "resubmission not allowed"},
    {"P", "please resubmit original transaction"},
    {"R", "resubmission allowed"},
    {"S", "do not resubmit; inquiry initiated to a third party"},
    {"W", "please wait 30 days and resubmit"},
    {"X", "please wait 10 days and resubmit"},
    {"Y", "do not resubmit; we will hand deliver"},
};

/* IK304, implementation segment syntax error code. */
static const code_text IK3[] = {
    {"1", "unrecognized segment ID"},
    {"2", "unexpected segment"},
    {"3", "required segment missing"},
    {"4", "loop occurs over maximum times"},
    {"5", "segment exceeds maximum use"},
    {"6", "segment not in defined transaction set"},
    {"7", "segment not in proper sequence"},
    {"8", "segment has data element errors"},
    {"I4", "implementation \"not used\" segment present"},
    {"I6", "implementation dependent segment missing"},
    {"I7", "implementation loop occurs under minimum times"},
    {"I8", "implementation segment below minimum use"},
    {"I9", "implementation dependent \"not used\" segment present"},
};

/* IK403, implementation data element syntax error code. */
static const code_text IK4[] = {
    {"1", "required data element missing"},
    {"2", "conditional required data element missing"},
    {"3", "too many data elements"},
    {"4", "data element too short"},
    {"5", "data element too long"},
    {"6", "invalid character in data element"},
    {"7", "invalid code value"},
    {"8", "invalid date"},
    {"9", "invalid time"},
    {"10", "exclusion condition violated"},
    {"12", "too many repetitions"},
    {"13", "too many components"},
    {"I6", "code value not used in implementation"},
    {"I9", "implementation dependent data element missing"},
    {"I10", "implementation \"not used\" data element present"},
    {"I11", "implementation too few repetitions"},
    {"I12", "implementation pattern match failure"},
    {"I13", "implementation dependent \"not used\" data element present"},
};

/* IK502, transaction set syntax error code. */
static const code_text IK5[] = {
    {"1", "transaction set not supported"},
    {"2", "transaction set trailer missing"},
    {"3", "transaction set control number in header and trailer do not match"},
    {"4", "number of included segments does not match actual count"},
    {"5", "one or more segments in error"},
    {"6", "missing or invalid transaction set identifier"},
    {"7", "missing or invalid transaction set control number"},
    {"18", "transaction set not in functional group"},
    {"19", "invalid transaction set implementation convention reference"},
    {"23", "transaction set control number not unique within the functional group"},
    {"I5", "implementation: one or more segments in error"},
    {"I6", "implementation convention not supported"},
};

/* AK905, functional group syntax error code. */
static const code_text AK9[] = {
    {"1", "functional group not supported"},
    {"2", "functional group version not supported"},
    {"3", "functional group trailer missing"},
    {"4", "group control number in the header and trailer do not agree"},
    {"5", "number of included transaction sets does not match actual count"},
    {"6", "group control number violates syntax"},
    {"19", "functional group control number not unique within interchange"},
};

/* IK501 / AK901 acknowledgment codes. */
static const code_text ACK[] = {
    {"A", "accepted"},
    {"E", "accepted but errors were noted"},
    {"M", "rejected, message authentication code failed"},
    {"P", "partially accepted, at least one transaction set was rejected"},
    {"R", "rejected"},
    {"W", "rejected, assurance failed validity tests"},
    {"X", "rejected, content after decryption could not be analyzed"},
};

/* TA105, interchange note code. */
static const code_text TA1[] = {
    {"000", "no error"},
    {"001", "the interchange control number in the header and trailer do not match"},
    {"002", "this standard as noted in the control standards identifier is not supported"},
    {"003", "this version of the controls is not supported"},
    {"004", "the segment terminator is invalid"},
    {"005", "invalid interchange ID qualifier for sender"},
    {"006", "invalid interchange sender ID"},
    {"007", "invalid interchange ID qualifier for receiver"},
    {"008", "invalid interchange receiver ID"},
    {"009", "unknown interchange receiver ID"},
    {"010", "invalid authorization information qualifier value"},
    {"011", "invalid authorization information value"},
    {"012", "invalid security information qualifier value"},
    {"013", "invalid security information value"},
    {"014", "invalid interchange date value"},
    {"015", "invalid interchange time value"},
    {"016", "invalid interchange standards identifier value"},
    {"017", "invalid interchange version ID value"},
    {"018", "invalid interchange control number value"},
    {"019", "invalid acknowledgment requested value"},
    {"020", "invalid test indicator value"},
    {"021", "invalid number of included groups value"},
    {"022", "invalid control structure"},
    {"023", "improper (premature) end-of-file (transmission)"},
    {"024", "invalid interchange content (e.g. invalid GS segment)"},
    {"025", "duplicate interchange control number"},
    {"026", "invalid data element separator"},
    {"027", "invalid component element separator"},
    {"028", "invalid delivery date in deferred delivery request"},
    {"029", "invalid delivery time in deferred delivery request"},
    {"030", "invalid delivery time code in deferred delivery request"},
    {"031", "invalid grade of service code"},
};

/* EB01, eligibility or benefit information code. */
static const code_text EB01[] = {
    {"1", "active coverage"},
    {"2", "active - full risk capitation"},
    {"3", "active - services capitated"},
    {"4", "active - services capitated to primary care physician"},
    {"5", "active - pending investigation"},
    {"6", "inactive"},
    {"7", "inactive - pending eligibility update"},
    {"8", "inactive - pending investigation"},
    {"A", "co-insurance"},
    {"B", "co-payment"},
    {"C", "deductible"},
    {"CB", "coverage basis"},
    {"D", "benefit description"},
    {"E", "exclusions"},
    {"F", "limitations"},
    {"G", "out of pocket (stop loss)"},
    {"H", "unlimited"},
    {"I", "non-covered"},
    {"J", "cost containment"},
    {"K", "reserve"},
    {"L", "primary care provider"},
    {"M", "pre-existing condition"},
    {"MC", "managed care coordinator"},
    {"N", "services restricted to following provider"},
    {"O", "not deemed a medical necessity"},
    {"P", "benefit disclaimer"},
    {"Q", "second surgical opinion required"},
    {"R", "other or additional payer"},
    {"S", "prior year(s) history"},
    {"T", "card(s) reported lost/stolen"},
    {"U", "contact following entity for eligibility or benefit information"},
    {"V", "cannot process"},
    {"W", "other source of data"},
    {"X", "health care facility"},
    {"Y", "spend down"},
};

/* EB06, time period qualifier. */
static const code_text PERIOD[] = {
    {"6", "hour"},          {"7", "day"},
    {"13", "24 hours"},     {"21", "years"},
    {"22", "service year"}, {"23", "calendar year"},
    {"24", "year to date"}, {"25", "contract"},
    {"26", "episode (benefit period)"}, {"27", "visit"},
    {"28", "outlier"},      {"29", "remaining"},
    {"30", "exceeded"},     {"31", "not exceeded"},
    {"32", "lifetime"},     {"33", "lifetime remaining"},
    {"34", "month"},        {"35", "week"},
    {"36", "admission"},
};

/* EB04, insurance type code (those a Medicare answer carries). */
static const code_text INS_TYPE[] = {
    {"12", "working aged beneficiary or spouse with employer group health plan"},
    {"13", "end-stage renal disease beneficiary in the coordination period with an employer group health plan"},
    {"14", "no-fault insurance including auto is primary"},
    {"15", "workers' compensation"},
    {"16", "public health service or other federal agency"},
    {"41", "black lung"},
    {"42", "Veterans Affairs"},
    {"43", "disabled beneficiary under age 65 with large group health plan"},
    {"47", "other liability insurance is primary"},
    {"C1", "commercial"},
    {"CP", "Medicare conditionally primary"},
    {"HM", "HMO"},
    {"HN", "HMO - Medicare risk"},
    {"HS", "special low income Medicare beneficiary"},
    {"IN", "indemnity"},
    {"MA", "Medicare Part A"},
    {"MB", "Medicare Part B"},
    {"MC", "Medicaid"},
    {"MP", "Medicare primary"},
    {"OT", "other"},
    {"PR", "PPO"},
    {"PS", "point of service"},
    {"QM", "Qualified Medicare Beneficiary"},
    {"SP", "supplemental policy"},
};

/* EB03 / EQ01, service type code (the ones HETS answers about). */
static const code_text STC[] = {
    {"1", "medical care"},
    {"2", "surgical"},
    {"30", "health benefit plan coverage"},
    {"42", "home health care"},
    {"43", "home health prescriptions"},
    {"44", "home health visits"},
    {"45", "hospice"},
    {"47", "hospital"},
    {"48", "hospital - inpatient"},
    {"50", "hospital - outpatient"},
    {"76", "dialysis"},
    {"81", "routine physical"},
    {"88", "pharmacy"},
    {"98", "professional (physician) visit - office"},
    {"AG", "skilled nursing care"},
    {"BZ", "physician visit - office: well"},
    {"RN", "renal"},
};

const char *ohets_query_aaa_reason(const char *c) { return find(AAA_REASON, N(AAA_REASON), c); }
const char *ohets_query_aaa_hint(const char *c) { return find(AAA_HINT, N(AAA_HINT), c); }
const char *ohets_query_aaa_action(const char *c) { return find(AAA_ACTION, N(AAA_ACTION), c); }
const char *ohets_query_ik3_text(const char *c) { return find(IK3, N(IK3), c); }
const char *ohets_query_ik4_text(const char *c) { return find(IK4, N(IK4), c); }
const char *ohets_query_ik5_text(const char *c) { return find(IK5, N(IK5), c); }
const char *ohets_query_ak9_text(const char *c) { return find(AK9, N(AK9), c); }
const char *ohets_query_ack_status(const char *c) { return find(ACK, N(ACK), c); }
const char *ohets_query_ta1_text(const char *c) { return find(TA1, N(TA1), c); }
const char *ohets_query_eb01_text(const char *c) { return find(EB01, N(EB01), c); }
const char *ohets_query_period_text(const char *c) { return find(PERIOD, N(PERIOD), c); }
const char *ohets_query_ins_type_text(const char *c) { return find(INS_TYPE, N(INS_TYPE), c); }
const char *ohets_query_stc_text(const char *c) { return find(STC, N(STC), c); }
