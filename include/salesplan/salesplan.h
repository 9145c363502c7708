/* salesplan/salesplan.h - every public salesplan header. */
#ifndef SALESPLAN_SALESPLAN_H
#define SALESPLAN_SALESPLAN_H

#include "core.h"
#include "money.h"
#include "storage.h"
#include "target.h"

#endif /* SALESPLAN_SALESPLAN_H */
