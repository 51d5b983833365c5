# growth.gp - the growth stage's chart (bench/report.sh runs it):
# events/s and CPU us per event (top), each service's peak RSS (bottom),
# against the number of events on a log scale. Flat lines are the goal.
#
#   gnuplot -e "data='growth.tsv'; out='growth.png'; heading='...'; xmin=...; xmax=...; sizes='100000 1000000'" bench/growth.gp
#
# data: bench/report.sh's growth.tsv (broker, events, events/s, CPU us per
# event, peak RSS MiB of producer, db_consumer, ack_consumer, broker, runs).

set terminal pngcairo size 1000,820 noenhanced font "sans,10"
set output out
set datafile separator "\t"
set multiplot layout 2,1 title heading font "sans,12"

set logscale x 10
set xrange [xmin:xmax]
# A tic at each size measured, as 100k, 1M, 10M.
set xtics ()
do for [s in sizes] { set xtics add (gprintf("%.0s%c", s + 0) s + 0) }
set grid xtics ytics lc rgb "#dddddd"
set key below horizontal maxrows 1 samplen 3 width 2
# The same margins in both panels, so that their x axes line up.
set lmargin 11
set rmargin 11
set tmargin 3

set title "Throughput and CPU cost per event"
set ylabel "events/s"
set y2label "CPU us per event (all processes + broker)"
# Headroom above the highest point of each axis.
stats data using 3 name "RATE" nooutput
stats data using 4 name "CPU" nooutput
set yrange [0:RATE_max * 1.15]
set y2range [0:CPU_max * 1.15]
set ytics nomirror
set y2tics
plot data using 2:3 axes x1y1 with linespoints lw 2 pt 7 lc rgb "#1f77b4" title "events/s (left)", \
     data using 2:4 axes x1y2 with linespoints lw 2 pt 5 dt 2 lc rgb "#d62728" title "CPU us per event (right)"

unset y2label
unset y2tics
set ytics mirror
set title "Peak RSS of each service (the broker's JVM is left out: its heap is fixed)"
set xlabel "events (each: 3 messages in, 1 ack out)"
set ylabel "MiB"
stats data using ($5 > $6 ? ($5 > $7 ? $5 : $7) : ($6 > $7 ? $6 : $7)) name "RSS" nooutput
set yrange [0:(RSS_max > 64 ? RSS_max : 64) * 1.15]
plot data using 2:5 with linespoints lw 2 pt 7 lc rgb "#2ca02c" title "producer", \
     data using 2:6 with linespoints lw 2 pt 5 lc rgb "#9467bd" title "db_consumer", \
     data using 2:7 with linespoints lw 2 pt 9 lc rgb "#ff7f0e" title "ack_consumer", \
     64 with lines dt 2 lw 1 lc rgb "#555555" title "target: 64 MiB"

unset multiplot
