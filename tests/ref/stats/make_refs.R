#!/usr/bin/env Rscript
# Reference values for tests/test_stats.c, computed with R's own functions
# (sd, quantile, mad, t.test, shapiro.test, wilcox.test, p.adjust) and
# nortest::ad.test, so that they are independent of the C code under test.
#
# Rerun from the repository root (needs r-base-core and r-cran-nortest):
#     Rscript tests/ref/stats/make_refs.R [outdir]
# It rewrites, in outdir (default tests/ref/stats):
#     <case>_a.txt, <case>_b.txt   input samples, one %.17g number a line
#     <case>.ref                   "key value" lines, value "null" where R
#                                  has no answer (test not computable)
#     padj_<case>_p.txt, padj_<case>.ref   p-value families
# Every sample is drawn with its own set.seed(), so adding a case leaves the
# others unchanged.
suppressPackageStartupMessages(library(nortest))

args <- commandArgs(trailingOnly = TRUE)
outdir <- if (length(args) >= 1) args[1] else "tests/ref/stats"

num <- function(v) if (is.null(v) || is.na(v)) "null" else sprintf("%.17g", v)

# Write a sample and read it back, so R computes on exactly the doubles the
# C test will parse.
put_sample <- function(x, file) {
  writeLines(sprintf("%.17g", x), file)
  scan(file, quiet = TRUE)
}

try_or_null <- function(expr) tryCatch(expr, error = function(e) NULL)

summ <- function(x, p) {
  n <- length(x)
  constant <- min(x) == max(x)
  q <- quantile(x, c(0.25, 0.75), type = 7, names = FALSE)
  iqr <- q[2] - q[1]
  sdv <- if (n >= 2) sd(x) else NA
  ci <- if (n < 2) c(NA, NA) else if (constant) c(mean(x), mean(x)) else
    as.numeric(t.test(x)$conf.int)
  # shapiro.test() refuses a range below 1e-10 as "identical"; W and its p
  # are invariant to location and scale, so standardise such samples first.
  swx <- if (!constant && n >= 2 && max(x) - min(x) < 1e-10) (x - mean(x)) / sd(x) else x
  sw <- if (n >= 3 && n <= 5000 && !constant) shapiro.test(swx) else NULL
  ad <- if (n >= 8 && !constant) ad.test(x) else NULL
  ad_a <- if (is.null(ad)) NA else unname(ad$statistic)
  cvv <- if (n >= 2 && mean(x) != 0) sdv / mean(x) else NA
  nout <- sum(x < q[1] - 1.5 * iqr | x > q[2] + 1.5 * iqr)
  c(
    sprintf("%sn %d", p, n),
    paste0(p, "mean ", num(mean(x))),
    paste0(p, "median ", num(median(x))),
    paste0(p, "sd ", num(sdv)),
    paste0(p, "min ", num(min(x))),
    paste0(p, "max ", num(max(x))),
    paste0(p, "q1 ", num(q[1])),
    paste0(p, "q3 ", num(q[2])),
    paste0(p, "iqr ", num(iqr)),
    paste0(p, "mad ", num(mad(x))),
    paste0(p, "cv ", num(cvv)),
    paste0(p, "ci95_low ", num(ci[1])),
    paste0(p, "ci95_high ", num(ci[2])),
    paste0(p, "shapiro_w ", num(if (is.null(sw)) NA else unname(sw$statistic))),
    paste0(p, "shapiro_p ", num(if (is.null(sw)) NA else sw$p.value)),
    paste0(p, "ad_stat ", num(ad_a)),
    paste0(p, "ad_stat_adj ", num(ad_a * (1 + 0.75 / n + 2.25 / n^2))),
    paste0(p, "ad_p ", num(if (is.null(ad)) NA else ad$p.value)),
    sprintf("%sn_outliers %d", p, nout)
  )
}

cliff_label <- function(d) {
  d <- abs(d)
  if (d < 0.147) "negligible" else if (d < 0.33) "small" else
    if (d < 0.474) "medium" else "large"
}

compare <- function(a, b) {
  na <- length(a); nb <- length(b)
  tt <- try_or_null(t.test(a, b))  # Welch: var.equal = FALSE is the default
  wt <- suppressWarnings(wilcox.test(a, b, correct = TRUE))
  exact <- grepl("exact", wt$method)
  sp <- sqrt(((na - 1) * var(a) + (nb - 1) * var(b)) / (na + nb - 2))
  d <- if (is.finite(sp) && sp > 0) (mean(a) - mean(b)) / sp else NA
  delta <- mean(sign(outer(a, b, "-")))
  swp <- function(x) {
    if (length(x) < 3 || min(x) == max(x)) return(NA)
    swx <- if (max(x) - min(x) < 1e-10) (x - mean(x)) / sd(x) else x
    shapiro.test(swx)$p.value
  }
  pa <- swp(a); pb <- swp(b)
  welch <- !is.na(pa) && !is.na(pb) && pa >= 0.05 && pb >= 0.05
  # mlbench's rule, not R's: two constant samples (n >= 2 each) get no test;
  # they differ by value, which the equivalence margin judges.
  both_const <- na >= 2 && nb >= 2 && min(a) == max(a) && min(b) == max(b)
  c(
    paste("welch_t", num(if (is.null(tt)) NA else unname(tt$statistic))),
    paste("welch_df", num(if (is.null(tt)) NA else unname(tt$parameter))),
    paste("welch_p", num(if (is.null(tt)) NA else tt$p.value)),
    paste("mwu_u", num(unname(wt$statistic))),
    paste("mwu_p", num(wt$p.value)),
    paste("mwu_method", if (exact) "exact" else "normal"),
    paste("cohens_d", num(d)),
    paste("cliffs_delta", num(delta)),
    paste("cliffs_label", cliff_label(delta)),
    paste("median_ratio", num(if (median(b) != 0) median(a) / median(b) else NA)),
    paste("chosen_test", if (both_const) "none" else if (welch) "welch" else "mann-whitney")
  )
}

two_sample_case <- function(name, a, b) {
  a <- put_sample(a, file.path(outdir, paste0(name, "_a.txt")))
  b <- put_sample(b, file.path(outdir, paste0(name, "_b.txt")))
  writeLines(c(summ(a, "a."), summ(b, "b."), compare(a, b)),
             file.path(outdir, paste0(name, ".ref")))
}

drawn <- function(seed, f) { set.seed(seed); f() }

cases <- list(
  n3 = list(c(1.02, 1.10, 0.97), c(1.31, 1.25, 1.40)),
  n4 = list(drawn(4, function() rnorm(4, 10, 1)), drawn(41, function() rnorm(4, 11, 1))),
  n5 = list(drawn(5, function() rnorm(5, 2, 0.3)), drawn(51, function() rnorm(5, 2.2, 0.3))),
  n2 = list(c(3.5, 3.7), c(3.9, 4.4, 4.0)),
  ties = list(drawn(6, function() round(rnorm(12, 10, 2))),
              drawn(61, function() round(rnorm(15, 11, 2)))),
  identical = list(drawn(7, function() rnorm(10, 5, 1)), drawn(7, function() rnorm(10, 5, 1))),
  constant = list(rep(2.5, 10), drawn(8, function() rnorm(10, 2.6, 0.1))),
  constant_both = list(rep(1, 6), rep(2, 6)),
  close = list(drawn(9, function() rnorm(30, 100, 5)), drawn(91, function() rnorm(30, 100, 5))),
  far = list(drawn(10, function() rnorm(90, 0, 1)), drawn(101, function() rnorm(90, 1.86, 1))),
  far_exact = list(drawn(11, function() rlnorm(40, 0, 0.2)),
                   drawn(111, function() 10 + rlnorm(45, 0, 0.2))),
  unequal = list(drawn(12, function() rnorm(7, 3, 0.5)), drawn(121, function() rnorm(30, 3.4, 0.8))),
  lognormal = list(drawn(13, function() 0.25 * rlnorm(30, 0, 0.6)),
                   drawn(131, function() 0.40 * rlnorm(25, 0, 0.6))),
  n5000 = list(drawn(14, function() rnorm(5000, 50, 3)), drawn(141, function() rgamma(5000, 20, 0.4))),
  big = list(drawn(15, function() 1.2e8 + rnorm(20, 0, 1)), drawn(151, function() 1.2e8 + 1 + rnorm(20, 0, 1))),
  tiny = list(drawn(16, function() 1.5e-9 + rnorm(20, 0, 1e-11)),
              drawn(161, function() 1.5e-9 + rnorm(20, 2e-11, 1e-11)))
)
for (nm in names(cases)) two_sample_case(nm, cases[[nm]][[1]], cases[[nm]][[2]])

padj_case <- function(name, p) {
  p <- put_sample(p, file.path(outdir, paste0("padj_", name, "_p.txt")))
  line <- function(m, v) paste(c(m, sprintf("%.17g", v)), collapse = " ")
  writeLines(c(line("bonferroni", p.adjust(p, "bonferroni")),
               line("holm", p.adjust(p, "holm")),
               line("bh", p.adjust(p, "BH"))),
             file.path(outdir, paste0("padj_", name, ".ref")))
}
padj_case("mixed", c(0.01, 0, 0.04, 0.01, 1, 0.2, 0.03, 0.01, 0.5, 0.049))
padj_case("random", drawn(20, function() runif(20)^3))
padj_case("one", c(0.03))
padj_case("ones", c(1, 1, 1))
