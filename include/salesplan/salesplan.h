/* salesplan/salesplan.h - every public salesplan header. */
#ifndef SALESPLAN_SALESPLAN_H
#define SALESPLAN_SALESPLAN_H

#include "core.h"
#include "money.h"
#include "storage.h"
#include "hierarchy.h"
#include "calendar.h"
#include "target.h"
#include "commission.h"
#include "target_kernels.h"

#endif /* SALESPLAN_SALESPLAN_H */
