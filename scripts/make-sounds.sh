#!/usr/bin/env bash
# Generates the demo hotline's prompts (8 kHz mono 16-bit WAV) with espeak-ng and
# sox into sounds/en, sounds/zh and sounds/moh.wav. Replace any file with a studio
# recording of the same name. Usage: scripts/make-sounds.sh [OUT_DIR]
set -euo pipefail
out=${1:-"$(dirname "$0")/../sounds"}
mkdir -p "$out/en" "$out/zh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

say() { # lang voice name text
  local lang=$1 voice=$2 name=$3 text=$4
  espeak-ng -v "$voice" -s 150 -w "$tmp/$name.raw.wav" "$text"
  sox "$tmp/$name.raw.wav" -r 8000 -c 1 -b 16 "$out/$lang/$name.wav" norm -3 silence 1 0.05 0.5% reverse silence 1 0.05 0.5% reverse
}

# The welcome is bilingual and identical in both folders.
espeak-ng -v cmn-latn-pinyin -s 140 -w "$tmp/w1.wav" "huan1 ying2 zhi4 dian4. zhong1 wen2 qing3 an4 yi1."
espeak-ng -v en-us -s 150 -w "$tmp/w2.wav" "Welcome. For English, press two."
sox "$tmp/w1.wav" "$tmp/w2.wav" -r 8000 -c 1 -b 16 "$out/zh/welcome.wav" norm -3
cp "$out/zh/welcome.wav" "$out/en/welcome.wav"

say en en-us main_menu "For order status, press one. For support, press two. For sales, press three. To tell us in your own words, press four. For an operator, press zero. To hear this again, press nine."
say en en-us ask_reason "In a few words, please tell us why you are calling."
say en en-us not_understood "Sorry, I did not understand."
say en en-us invalid "Sorry, that is not a valid choice."
say en en-us order_number "Please enter your order number, then press the pound key."
say en en-us order_received "Thank you. An agent will look into your order."
say en en-us closed "We are closed now. Please call again during business hours. Goodbye."
say zh cmn-latn-pinyin main_menu "cha2 xun2 ding4 dan1 qing3 an4 yi1. ji4 shu4 zhi1 chi2 qing3 an4 er4. xiao1 shou4 qing3 an4 san1. yu3 yin1 shuo1 ming2 qing3 an4 si4. ren2 gong1 fu2 wu4 qing3 an4 ling2. chong2 ting1 qing3 an4 jiu3."
say zh cmn-latn-pinyin ask_reason "qing3 jian3 dan1 shuo1 yi1 xia4 nin2 lai2 dian4 de yuan2 yin1."
say zh cmn-latn-pinyin not_understood "dui4 bu4 qi3, wo3 mei2 you3 ting1 dong3."
say zh cmn-latn-pinyin invalid "dui4 bu4 qi3, nin2 de xuan3 ze2 wu2 xiao4."
say zh cmn-latn-pinyin order_number "qing3 shu1 ru4 nin2 de ding4 dan1 hao4, yi3 jing3 hao4 jian4 jie2 shu4."
say zh cmn-latn-pinyin order_received "xie4 xie4. ke4 fu2 jiang1 wei4 nin2 cha2 xun2 ding4 dan1."
say zh cmn-latn-pinyin closed "xian4 zai4 shi4 fei1 gong1 zuo4 shi2 jian1, qing3 zai4 gong1 zuo4 shi2 jian1 zai4 lai2 dian4. zai4 jian4."

# Snippets for saying values (digits, numbers, money, dates): sounds/<lang>/say/.
# The names are those of `dialplan::say::all_snippets`.
mkdir -p "$out/en/say" "$out/zh/say"
snippet() { # lang voice name text
  local lang=$1 voice=$2 name=$3 text=$4
  espeak-ng -v "$voice" -s 160 -w "$tmp/s.raw.wav" "$text"
  sox "$tmp/s.raw.wav" -r 8000 -c 1 -b 16 "$out/$lang/say/$name.wav" norm -3 silence 1 0.02 0.5% reverse silence 1 0.02 0.5% reverse pad 0 0.06
}
en_words=(zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen seventeen eighteen nineteen)
for n in $(seq 0 19); do snippet en en-us "$n" "${en_words[$n]}"; done
for n in $(seq 0 9); do snippet en en-us "digit_$n" "${en_words[$n]}"; done
tens=(x x twenty thirty forty fifty sixty seventy eighty ninety)
for t in $(seq 2 9); do snippet en en-us "$((t * 10))" "${tens[$t]}"; done
for w in hundred thousand million billion minus point and star; do snippet en en-us "$w" "$w"; done
snippet en en-us pound "pound"
snippet en en-us cny "yuan"; snippet en en-us cny_minor "fen"
snippet en en-us usd "dollars"; snippet en en-us usd_minor "cents"
months=(x January February March April May June July August September October November December)
for m in $(seq 1 12); do snippet en en-us "month_$m" "${months[$m]}"; done
ordinals=(x first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth twentieth "twenty first" "twenty second" "twenty third" "twenty fourth" "twenty fifth" "twenty sixth" "twenty seventh" "twenty eighth" "twenty ninth" thirtieth "thirty first")
for d in $(seq 1 31); do snippet en en-us "ordinal_$d" "${ordinals[$d]}"; done

zh_numbers=(ling2 yi1 er4 san1 si4 wu3 liu4 qi1 ba1 jiu3 shi2)
for n in $(seq 0 10); do snippet zh cmn-latn-pinyin "$n" "${zh_numbers[$n]}"; done
# Digit by digit, one is yao1 as in phone numbers.
zh_digits=(ling2 yao1 er4 san1 si4 wu3 liu4 qi1 ba1 jiu3)
for n in $(seq 0 9); do snippet zh cmn-latn-pinyin "digit_$n" "${zh_digits[$n]}"; done
snippet zh cmn-latn-pinyin hundred bai3; snippet zh cmn-latn-pinyin thousand qian1
snippet zh cmn-latn-pinyin ten_thousand wan4; snippet zh cmn-latn-pinyin hundred_million yi4
snippet zh cmn-latn-pinyin minus fu4; snippet zh cmn-latn-pinyin point dian3
snippet zh cmn-latn-pinyin star "xing1 hao4"; snippet zh cmn-latn-pinyin pound "jing3 hao4"
snippet zh cmn-latn-pinyin month yue4; snippet zh cmn-latn-pinyin day ri4
snippet zh cmn-latn-pinyin yuan yuan2; snippet zh cmn-latn-pinyin jiao jiao3; snippet zh cmn-latn-pinyin fen fen1
snippet zh cmn-latn-pinyin usd "mei3 yuan2"; snippet zh cmn-latn-pinyin usd_minor "mei3 fen1"

# The place in queue and estimated wait: "You are number" N "in line." …
say en en-us queue_place "You are number"
say en en-us queue_place_end "in line."
say en en-us queue_wait "Your estimated wait is about"
say en en-us minutes "minutes."
say en en-us queue_wait_short "Your estimated wait is about one minute."
say zh cmn-latn-pinyin queue_place "nin2 xian4 zai4 pai2 zai4 di4"
say zh cmn-latn-pinyin queue_place_end "wei4."
say zh cmn-latn-pinyin queue_wait "yu4 ji4 deng3 dai4 da4 yue1"
say zh cmn-latn-pinyin minutes "fen1 zhong1."
say zh cmn-latn-pinyin queue_wait_short "yu4 ji4 deng3 dai4 yi1 fen1 zhong1 zuo3 you4."
say en en-us order_entered "You entered order number"
say zh cmn-latn-pinyin order_entered "nin2 shu1 ru4 de ding4 dan1 hao4 shi4"
say en en-us survey "Before you go, please rate our service today. Press one for poor, up to five for excellent."
say en en-us survey_thanks "Thank you for your rating. Goodbye."
say zh cmn-latn-pinyin survey "gua4 ji1 qian2, qing3 nin2 wei4 ben3 ci4 fu2 wu4 da3 fen1. yi1 fen1 zui4 di1, wu3 fen1 zui4 gao1."
say zh cmn-latn-pinyin survey_thanks "xie4 xie4 nin2 de ping2 jia4. zai4 jian4."

# Voicemail and callbacks. The beep before recording is a 1 kHz tone, 400 ms.
say en en-us voicemail_greeting "Please leave your name, number and message after the tone. Press the pound key when you are done."
say en en-us voicemail_saved "Thank you. Your message has been saved, and we will call you back. Goodbye."
say en en-us callback_offer "To be called back at the number you are calling from, without losing your place in line, press one. To keep waiting, stay on the line."
say en en-us callback_offer_closed "We are closed now. To be called back at the number you are calling from when we open, press one. To leave a message, stay on the line."
say en en-us callback_confirmed "Thank you. We will call you back as soon as an agent is free. Goodbye."
say zh cmn-latn-pinyin voicemail_greeting "qing3 zai4 di1 sheng1 hou4 liu2 xia4 nin2 de xing4 ming2, dian4 hua4 he2 liu2 yan2. liu2 yan2 jie2 shu4 qing3 an4 jing3 hao4 jian4."
say zh cmn-latn-pinyin voicemail_saved "xie4 xie4. nin2 de liu2 yan2 yi3 bao3 cun2, wo3 men hui4 jin3 kuai4 hui2 dian4. zai4 jian4."
say zh cmn-latn-pinyin callback_offer "ru2 xu1 bao3 liu2 pai2 dui4 wei4 zhi4, you2 wo3 men hui2 dian4 dao4 nin2 de lai2 dian4 hao4 ma3, qing3 an4 yi1. ji4 xu4 deng3 dai4 qing3 bu2 yao4 gua4 ji1."
say zh cmn-latn-pinyin callback_offer_closed "xian4 zai4 shi4 fei1 gong1 zuo4 shi2 jian1. ru2 xu1 shang4 ban1 hou4 hui2 dian4 dao4 nin2 de lai2 dian4 hao4 ma3, qing3 an4 yi1. liu2 yan2 qing3 bu2 yao4 gua4 ji1."
say zh cmn-latn-pinyin callback_confirmed "xie4 xie4. ke4 fu2 you3 kong4 shi2 hui4 jin3 kuai4 hui2 dian4 gei3 nin2. zai4 jian4."
for lang in en zh; do
  sox -n -r 8000 -c 1 -b 16 "$out/$lang/beep.wav" synth 0.4 sine 1000 fade 0.01 0.4 0.01 vol 0.5
done

# Transfers: said before the caller is put through to an extension or a number.
say en en-us transferring "Please hold while we transfer your call."
say zh cmn-latn-pinyin transferring "qing3 shao1 hou4, zheng4 zai4 wei4 nin2 zhuan3 jie1."

# Music on hold: a calm repeating chord, 8 seconds.
sox -n -r 8000 -c 1 -b 16 "$out/moh.wav" synth 2 sine 392 sine 494 sine 587 synth 2 sine 440 sine 523 sine 659 : synth 2 sine 349 sine 440 sine 523 : synth 2 sine 392 sine 494 sine 587 remix - fade 0.1 8 0.1 vol 0.3 2>/dev/null || \
  sox -n -r 8000 -c 1 -b 16 "$out/moh.wav" synth 8 sine 440 vol 0.2

echo "prompts written to $out"
