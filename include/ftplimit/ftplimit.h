/*
 * ftplimit/ftplimit.h - everything libftplimit offers, in one include.
 */
#ifndef FTPLIMIT_FTPLIMIT_H
#define FTPLIMIT_FTPLIMIT_H

#include <ftplimit/bans.h>
#include <ftplimit/engine.h>
#include <ftplimit/events.h>
#include <ftplimit/farm.h>
#include <ftplimit/geoip.h>
#include <ftplimit/policy.h>
#include <ftplimit/session.h>
#include <ftplimit/status.h>
#include <ftplimit/timers.h>

#endif
