/* "Now" for the core and for HETS records: the local clock, its date
 * pinned by cfg->today when set. */
#ifndef OHETS_SERVER_NOW_H
#define OHETS_SERVER_NOW_H

#include "openhets/openhets.h"
#include "server/config.h"

void ohets_srv_now(const ohets_srv_config *cfg, ohets_now *now);

#endif /* OHETS_SERVER_NOW_H */
