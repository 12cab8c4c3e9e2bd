# Makes tests/data/behaviorflow_r_csi_pvalues.csv and behaviorflow_r_csi_report.csv: BehaviorFlow's own R functions
# run on the shared CSI labels, the reference for behavnb.stats.behaviorflow_test(mode="r") (tests/test_stats_exact.py).
#
#   Rscript tests/data/behaviorflow_r_pvalues.R <BehaviorFlow>/R/UnsupervisedAnalysis_Functions.R \
#       $BEHAVNB_DATA_DIR/behaviorflow-csi-labels tests/data
#
# BehaviorFlow (https://github.com/ETHZ-INS/BehaviorFlow, GPL-3) is sourced, not copied: LoadFromCSVs,
# SmoothLabels_US(integration_period = 5) and CalculateMetrics (needs plyr) are called as in its README. Its
# TwoGroupAnalysis also needs imputeTS and pracma (and 1,000 transition bootstraps we do not use), so its per-metric
# block is restated below: Report NA -> 0 (imputeTS::na_replace(fill = 0)), t.test(a, b) (Welch), p.adjust "BY".
# We also record the variant without the NA -> 0 step (a cluster absent from a session stays NA and t.test drops it).
args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) == 3)
source(args[1])
suppressMessages(library(plyr))
data_dir <- args[2]
out_dir <- args[3]

US <- LoadFromCSVs(path = file.path(data_dir, "labels"), sep = ";")
invisible(capture.output(US <- SmoothLabels_US(US, integration_period = 5)))  # it prints one line per file
US <- CalculateMetrics(US)
metadata <- read.table(file.path(data_dir, "Example_metadata.csv"), sep = ";", header = TRUE)
rownames(metadata) <- metadata$DLCFile
US <- AddMetaData(US, metadata)
group <- US$meta$Condition

report <- US$Report[["kmeans.25"]]           # sessions x "X<cluster>.<kind>", NA where a cluster is absent
names(report) <- sub("^X", "", names(report))
g1 <- unique(group)[1]
g2 <- unique(group)[2]
zero <- report
zero[is.na(zero)] <- 0                       # what imputeTS::na_replace(fill = 0) does in TwoGroupAnalysis
rows <- lapply(names(report), function(m) {
  a0 <- zero[group == g1, m]; b0 <- zero[group == g2, m]
  a <- report[group == g1, m]; b <- report[group == g2, m]
  row <- data.frame(metric = m, p_zero = t.test(a0, b0)$p.value, p_na = t.test(a, b)$p.value,
                    m1z = mean(a0), m2z = mean(b0), m1n = mean(a, na.rm = TRUE), m2n = mean(b, na.rm = TRUE),
                    n1 = sum(!is.na(a)), n2 = sum(!is.na(b)))
  names(row)[4:9] <- c(paste0("mean_", c(g1, g2), "_zero"), paste0("mean_", c(g1, g2), "_na"),
                       paste0("n_", c(g1, g2), "_na"))
  row
})
res <- do.call(rbind, rows)
res$fdr_zero <- p.adjust(res$p_zero, method = "BY")
res$fdr_na <- p.adjust(res$p_na, method = "BY")
write.csv(format(res[order(res$p_zero), ], digits = 15), file.path(out_dir, "behaviorflow_r_csi_pvalues.csv"),
          row.names = FALSE, quote = FALSE)
report$session <- US$meta$ID                 # the manifest's session names (OFT_<n>)
report$group <- group
write.csv(report, file.path(out_dir, "behaviorflow_r_csi_report.csv"), row.names = FALSE, na = "NA")
cat(R.version.string, "\n")
