/* Vietnamese names for the date picker (a date-fns locale object; Dash 4's picker reads
   window.dateFns.locale, set per UI language by app.DATE_LOCALE_JS). Weeks start on Monday. */
(function () {
    const months = ["tháng 1", "tháng 2", "tháng 3", "tháng 4", "tháng 5", "tháng 6",
        "tháng 7", "tháng 8", "tháng 9", "tháng 10", "tháng 11", "tháng 12"];
    const monthsShort = ["Th1", "Th2", "Th3", "Th4", "Th5", "Th6",
        "Th7", "Th8", "Th9", "Th10", "Th11", "Th12"];
    const days = ["Chủ nhật", "Thứ hai", "Thứ ba", "Thứ tư", "Thứ năm", "Thứ sáu", "Thứ bảy"];
    const daysShort = ["CN", "T2", "T3", "T4", "T5", "T6", "T7"];
    const fixed = (text) => () => text;
    const numeric = (d) => String(d);
    window.dvcflowDateVi = {
        code: "vi",
        formatDistance: (token, count) => String(count),
        formatRelative: fixed("P"),
        formatLong: {
            date: fixed("dd/MM/yyyy"),
            time: fixed("HH:mm"),
            dateTime: fixed("{{date}} {{time}}"),
        },
        localize: {
            ordinalNumber: numeric,
            era: (n) => (n ? "SCN" : "TCN"),
            quarter: (n) => "Quý " + n,
            month: (n, o) => ((o && o.width === "abbreviated") ? monthsShort[n] : months[n]),
            day: (n, o) => {
                const w = o && o.width;
                return (w === "short" || w === "narrow" || w === "abbreviated")
                    ? daysShort[n] : days[n];
            },
            dayPeriod: (p) => (p === "am" ? "SA" : "CH"),
        },
        match: {
            ordinalNumber: () => null,
            era: () => null,
            quarter: () => null,
            month: () => null,
            day: () => null,
            dayPeriod: () => null,
        },
        options: {weekStartsOn: 1, firstWeekContainsDate: 1},
    };
    window.dateFns = window.dateFns || {};
    window.dateFns.locale = window.dateFns.locale || {vi: window.dvcflowDateVi};
})();
